// bkexp: a BuildKit build through the Docker engine API (POST /build with
// version=2), the context and Dockerfile sent over a session (POST /session,
// hijacked to h2c) with buildkit's filesync, or as a tar body; progress from
// the moby.buildkit.trace aux messages, printed by progressui's plain mode and
// by a small decoder of our own.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/filesync"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
	"google.golang.org/protobuf/proto"
)

type kv map[string]string

func (m kv) String() string { return fmt.Sprint(map[string]string(m)) }
func (m kv) Set(s string) error {
	k, v, _ := strings.Cut(s, "=")
	m[k] = v
	return nil
}

func main() {
	dir := flag.String("dir", ".", "build context")
	dockerfile := flag.String("f", "Dockerfile", "Dockerfile, relative to -dir")
	tag := flag.String("t", "bkexp-test:latest", "tag")
	mode := flag.String("mode", "session", "session | tar (context as the request body)")
	target := flag.String("target", "", "target stage")
	network := flag.String("network", "", "networkmode (none, host, default)")
	memory := flag.Int64("memory", 0, "memory limit (bytes); ignored by BuildKit?")
	cpuquota := flag.Int64("cpuquota", 0, "cpu quota (µs per 100ms)")
	cgroupParent := flag.String("cgroup-parent", "", "cgroup parent")
	nocache := flag.Bool("no-cache", false, "no cache")
	pull := flag.Bool("pull", false, "pull parent")
	display := flag.String("display", "both", "plain | own | both | raw")
	cancelAfter := flag.Duration("cancel-after", 0, "cancel the build after this long (BuildCancel, then ctx cancel)")
	buildID := flag.String("buildid", "", "build id (default random)")
	labels, args, plant, appendTo := kv{}, kv{}, kv{}, kv{}
	flag.Var(plant, "plant", "session mode: add file path=content to the context (repeatable)")
	flag.Var(appendTo, "append", "session mode: append content to file path=content (repeatable)")
	sharedKey := flag.String("shared-key", "bkexp", "session shared key (per job: keeps its local-source cache apart)")
	flag.Var(labels, "label", "label k=v (repeatable)")
	flag.Var(args, "arg", "build-arg k=v (repeatable)")
	flag.Parse()

	cli, err := client.New(client.FromEnv)
	if err != nil {
		fail(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ping, err := cli.Ping(ctx, client.PingOptions{})
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "== engine API %s, builder %q (ping BuilderVersion)\n", ping.APIVersion, ping.BuilderVersion)

	id := *buildID
	if id == "" {
		id = "bkexp-" + identity.NewID()
	}
	opts := client.ImageBuildOptions{
		Tags:         []string{*tag},
		Version:      build.BuilderBuildKit,
		BuildID:      id,
		Target:       *target,
		NetworkMode:  *network,
		Memory:       *memory,
		MemorySwap:   *memory,
		CPUQuota:     *cpuquota,
		CgroupParent: *cgroupParent,
		NoCache:      *nocache,
		PullParent:   *pull,
		Labels:       labels,
		Remove:       true,
		ForceRemove:  true,
	}
	if *cpuquota != 0 {
		opts.CPUPeriod = 100_000
	}
	if len(args) > 0 {
		opts.BuildArgs = map[string]*string{}
		for k, v := range args {
			opts.BuildArgs[k] = &v
		}
	}

	var body io.Reader
	switch *mode {
	case "session":
		sess, err := startSession(ctx, cli, *dir, *dockerfile, *sharedKey, toBytes(plant), toBytes(appendTo))
		if err != nil {
			fail(err)
		}
		defer sess.Close()
		opts.SessionID = sess.ID()
		opts.RemoteContext = "client-session" // the daemon reads the context from the session
		opts.Dockerfile = filepath.Base(*dockerfile)
		body = nil
	case "tar":
		var buf bytes.Buffer
		if err := tarDir(&buf, *dir); err != nil {
			fail(err)
		}
		body = &buf
		opts.Dockerfile = filepath.ToSlash(*dockerfile)
	default:
		fail(fmt.Errorf("mode %q", *mode))
	}

	if *cancelAfter > 0 {
		time.AfterFunc(*cancelAfter, func() {
			fmt.Fprintf(os.Stderr, "== cancelling build %s\n", id)
			cctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			if _, err := cli.BuildCancel(cctx, id, client.BuildCancelOptions{}); err != nil {
				fmt.Fprintf(os.Stderr, "== BuildCancel: %v\n", err)
			}
		})
	}

	start := time.Now()
	res, err := cli.ImageBuild(ctx, body, opts)
	if err != nil {
		fail(fmt.Errorf("ImageBuild: %w", err))
	}
	defer res.Body.Close()

	ch := make(chan *bkclient.SolveStatus)
	var plainOut bytes.Buffer
	done := make(chan struct{})
	var warnings []bkclient.VertexWarning
	go func() {
		defer close(done)
		d, err := progressui.NewDisplay(&plainOut, progressui.PlainMode)
		if err != nil {
			fail(err)
		}
		warnings, _ = d.UpdateFrom(context.Background(), ch)
	}()
	own := newOwnLog()
	var imageID, buildErr string
	var raw []string
	dec := json.NewDecoder(res.Body)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if !errors.Is(err, io.EOF) {
				buildErr = "decoding: " + err.Error()
			}
			break
		}
		switch {
		case m.Error != nil:
			buildErr = m.Error.Message
		case m.ID == "moby.buildkit.trace" && m.Aux != nil:
			// aux is a JSON string: base64 of a proto-encoded StatusResponse.
			var dt []byte
			if err := json.Unmarshal(*m.Aux, &dt); err != nil {
				buildErr = "trace: " + err.Error()
				continue
			}
			var resp controlapi.StatusResponse
			if err := proto.Unmarshal(dt, &resp); err != nil {
				buildErr = "trace proto: " + err.Error()
				continue
			}
			if *display == "raw" {
				b, _ := json.Marshal(bkclient.NewSolveStatus(&resp))
				raw = append(raw, string(b))
			}
			own.update(&resp)
			ch <- bkclient.NewSolveStatus(&resp)
		case m.ID == "moby.image.id" && m.Aux != nil:
			var r build.Result
			_ = json.Unmarshal(*m.Aux, &r)
			imageID = r.ID
		default:
			b, _ := json.Marshal(m)
			fmt.Fprintf(os.Stderr, "== other message: %s\n", b)
		}
	}
	close(ch)
	<-done

	if *display == "plain" || *display == "both" {
		fmt.Println("----- progressui plain -----")
		fmt.Print(plainOut.String())
	}
	if *display == "own" || *display == "both" {
		fmt.Println("----- own decoding -----")
		fmt.Print(own.String())
	}
	if *display == "raw" {
		fmt.Println(strings.Join(raw, "\n"))
	}
	for _, w := range warnings {
		fmt.Printf("warning: %s (%v)\n", w.Short, w.Range)
	}
	fmt.Printf("----- result after %s -----\nimage id: %q\nerror: %q\nfailed vertex: %q\n", time.Since(start).Round(time.Millisecond), imageID, buildErr, own.failed)
}

// startSession opens a BuildKit session on the engine and serves the build
// context ("context") and the Dockerfile's folder ("dockerfile") over
// filesync, as the docker CLI did for `DOCKER_BUILDKIT=1 docker build`.
func startSession(ctx context.Context, cli *client.Client, dir, dockerfile, sharedKey string, plant, appendTo map[string][]byte) (*session.Session, error) {
	// shared key: any string; the CLI hashes the context path. BuildKit keys
	// its "local source" cache records by it (and the name "context").
	sess, err := session.NewSession(ctx, sharedKey)
	if err != nil {
		return nil, err
	}
	var ctxFS fsutil.FS
	if len(plant) > 0 || len(appendTo) > 0 {
		ctxFS, err = newListFS(dir, plant, appendTo)
	} else {
		ctxFS, err = fsutil.NewFS(dir)
	}
	if err != nil {
		return nil, err
	}
	// Same as the CLI: reset owners, apply .dockerignore (ExcludePatterns).
	ctxFS, err = fsutil.NewFilterFS(ctxFS, &fsutil.FilterOpt{
		ExcludePatterns: readIgnore(dir),
		Map: func(_ string, st *fstypes.Stat) fsutil.MapResult {
			st.Uid, st.Gid = 0, 0
			return fsutil.MapResultKeep
		},
	})
	if err != nil {
		return nil, err
	}
	dfFS, err := fsutil.NewFS(filepath.Join(dir, filepath.Dir(dockerfile)))
	if err != nil {
		return nil, err
	}
	sess.Allow(filesync.NewFSSyncProvider(filesync.StaticDirSource{
		"context":    ctxFS,
		"dockerfile": dfFS,
	}))
	dialer := func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
		return cli.DialHijack(ctx, "/session", proto, meta)
	}
	go func() {
		if err := sess.Run(ctx, dialer); err != nil {
			fmt.Fprintf(os.Stderr, "== session: %v\n", err)
		}
	}()
	return sess, nil
}

func toBytes(m kv) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range m {
		out[k] = []byte(v + "\n")
	}
	return out
}

func readIgnore(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, ".dockerignore"))
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// ownLog is our own decoding of the status stream: one entry per vertex, in
// order of first sight, with its logs, cached/error state and timings.
type ownLog struct {
	order  []string
	vtx    map[string]*controlapi.Vertex
	logs   map[string]*bytes.Buffer
	warns  []string
	failed string
}

func newOwnLog() *ownLog {
	return &ownLog{vtx: map[string]*controlapi.Vertex{}, logs: map[string]*bytes.Buffer{}}
}

func (o *ownLog) update(r *controlapi.StatusResponse) {
	for _, v := range r.Vertexes {
		if _, ok := o.vtx[v.Digest]; !ok {
			o.order = append(o.order, v.Digest)
		}
		o.vtx[v.Digest] = v
		if v.Error != "" && o.failed == "" {
			o.failed = v.Name
		}
	}
	for _, l := range r.Logs {
		b := o.logs[l.Vertex]
		if b == nil {
			b = &bytes.Buffer{}
			o.logs[l.Vertex] = b
		}
		b.Write(l.Msg)
	}
	for _, w := range r.Warnings {
		o.warns = append(o.warns, fmt.Sprintf("%s: %s", o.name(w.Vertex), w.Short))
	}
}

func (o *ownLog) name(d string) string {
	if v := o.vtx[d]; v != nil {
		return v.Name
	}
	return d
}

func (o *ownLog) String() string {
	var b strings.Builder
	for _, d := range o.order {
		v := o.vtx[d]
		state := "DONE"
		switch {
		case v.Error != "":
			state = "ERROR: " + v.Error
		case v.Cached:
			state = "CACHED"
		case v.Completed == nil:
			state = "(not completed)"
		}
		dur := ""
		if v.Started != nil && v.Completed != nil {
			dur = " " + v.Completed.AsTime().Sub(v.Started.AsTime()).Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "#%s %s  [%s%s]\n", short(d), v.Name, state, dur)
		if l := o.logs[d]; l != nil {
			for _, line := range strings.Split(strings.TrimRight(l.String(), "\n"), "\n") {
				fmt.Fprintf(&b, "    | %s\n", line)
			}
		}
	}
	sort.Strings(o.warns)
	for _, w := range o.warns {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

func short(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bkexp:", err)
	os.Exit(1)
}
