package engine

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/gradeproject/grade/checks"
	"github.com/gradeproject/grade/grader/guard"
)

// testImages are the exercise's images in these tests.
var testImages = []string{"x", "redis:alpine"}

const goodCompose = `services:
  web:
    build: .
    ports:
      - "8000:5000"
    volumes:
      - ./static:/app/static
      - data:/data
    environment:
      MODE: production
  redis:
    image: "redis:alpine"
volumes:
  data:
`

// TestVetCompose: every way out of the sandbox a compose file can ask for is
// refused with its reason; a course compose file passes.
func TestVetCompose(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // fragments of the reasons; none: accepted
	}{
		{"course file", goodCompose, nil},
		{"sysctls", "services:\n  web:\n    image: x\n    sysctls: {net.ipv4.ip_forward: 1}\n", []string{"sysctls: they change the kernel's settings"}},
		{"storage_opt", "services:\n  web:\n    image: x\n    storage_opt: {size: 100G}\n", []string{"storage_opt"}},
		{"blkio device", "services:\n  web:\n    image: x\n    blkio_config: {device_read_bps: [{path: /dev/sda, rate: 1mb}]}\n", []string{"blkio_config"}},
		{"real-time", "services:\n  web:\n    image: x\n    cpu_rt_runtime: 950000\n", []string{"cpu_rt_runtime"}},
		{"privileged", "services:\n  web:\n    image: x\n    privileged: true\n", []string{"service web: privileged: true"}},
		{"root of the host", "services:\n  web:\n    image: x\n    volumes: [\"/:/host\"]\n", []string{"volumes: /:/host mounts a host path outside the submission"}},
		{"docker socket", "services:\n  web:\n    image: x\n    volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]\n", []string{"mounts the Docker socket"}},
		{"host network", "services:\n  web:\n    image: x\n    network_mode: host\n", []string{"network_mode: host"}},
		{"host pid and ipc", "services:\n  web:\n    image: x\n    pid: host\n    ipc: host\n", []string{"pid: host", "ipc: host"}},
		{"cap_add", "services:\n  web:\n    image: x\n    cap_add: [SYS_ADMIN]\n", []string{"cap_add: SYS_ADMIN"}},
		{"devices", "services:\n  web:\n    image: x\n    devices: [\"/dev/sda:/dev/sda\"]\n", []string{"devices:"}},
		{"seccomp off", "services:\n  web:\n    image: x\n    security_opt: [\"seccomp:unconfined\"]\n", []string{"security_opt: seccomp:unconfined"}},
		{"api socket", "services:\n  web:\n    image: x\n    use_api_socket: true\n", []string{"use_api_socket"}},
		{"parent folder", "services:\n  web:\n    image: x\n    volumes: [\"../..:/src\"]\n", []string{"outside the submission"}},
		{"bind volume", "services:\n  web:\n    image: x\n    volumes: [d:/d]\nvolumes:\n  d:\n    driver_opts: {type: none, o: bind, device: /etc}\n", []string{"volume d: driver_opts device \"/etc\""}},
		{"external volume", "services:\n  web:\n    image: x\nvolumes:\n  d: {external: true}\n", []string{"external: true"}},
		{"build outside", "services:\n  web:\n    build: /etc\n", []string{"build.context: /etc is outside"}},
		{"env file", "services:\n  web:\n    image: x\n    env_file: /etc/shadow\n", []string{"env_file: grade reads no other file"}},
		{"label file", "x: &l {label_file: /etc/shadow}\nservices:\n  web:\n    image: x\n    <<: *l\n", []string{"label_file"}},
		{"extends through an alias", "x-e: &e {file: evil.yaml, service: root}\nservices:\n  web:\n    image: x\n    extends: *e\n", []string{"extends"}},
		{"extends in the file", "services:\n  base:\n    image: x\n  web:\n    image: x\n    extends: {service: base}\n", []string{"service web: extends"}},
		{"provider", "services:\n  web:\n    provider: {type: docker, options: {a: b}}\n", []string{"provider: it would run a program on the host"}},
		{"secret from grade's environment", "services:\n  web:\n    image: x\n    secrets: [s]\nsecrets:\n  s: {environment: GRADE_SECRET}\n", []string{"secret s: environment: GRADE_SECRET"}},
		{"default bridge", "services:\n  web:\n    image: x\n    network_mode: bridge\n", []string{"network_mode: bridge leaves the stack's own networks"}},
		{"seccomp profile", "services:\n  web:\n    image: x\n    security_opt: [\"seccomp=./open.json\"]\n", []string{"only no-new-privileges is allowed"}},
		{"dockerfile outside", "services:\n  web:\n    build: {context: ., dockerfile: ../../etc/passwd}\n", []string{"build.dockerfile: ../../etc/passwd is outside the build context"}},
		{"binary value", "services:\n  web:\n    image: x\n    environment:\n      LEAK: !!binary /yQke0dSQURFX1NFQ1JFVH0=\n", []string{"!!binary"}},
		{"binary key", "services:\n  web:\n    image: x\n    ? !!binary ZW52X2ZpbGU=\n    : [/proc/self/environ]\n", []string{"!!binary"}},
		{"custom tag", "services:\n  web:\n    image: !mine x\n", []string{"custom YAML tag"}},
		{"external links", "services:\n  web:\n    image: x\n    external_links: [other-job-db]\n", []string{"external_links"}},
		{"annotations", "services:\n  web:\n    image: x\n    annotations: {a: b}\n", []string{"annotations"}},
		{"link out of the submission", "services:\n  web:\n    image: x\n    volumes: [\"./h/var/run:/r\"]\n", []string{"volumes: ./h/var/run:/r mounts a host path outside the submission"}},
		{"a single file", "services:\n  web:\n    image: x\n    volumes: [\"./compose.yaml:/etc/nginx/nginx.conf\"]\n", []string{"volumes: ./compose.yaml:/etc/nginx/nginx.conf binds a single file; grade binds only folders of your submission"}},
		{"include", "include: [/etc/compose.yaml]\nservices:\n  web:\n    image: x\n", []string{"include:"}},
		{"extends a file", "services:\n  web:\n    extends: {file: /etc/x.yaml, service: a}\n", []string{"extends.file"}},
		{"not YAML", "services:\n  web:\n   image: x\n  - oops\n", []string{"not valid YAML"}},
		{"not compose", "services: [web]\n", []string{"does not load"}},
		{"self alias", "services: &a\n  web: *a\n", []string{"aliases"}},
		{"negative oom score", "services:\n  web:\n    image: x\n    oom_score_adj: -1000\n", []string{"service web: oom_score_adj: -1000 would make the host's kernel kill other processes"}},
		{"positive oom score", "services:\n  web:\n    image: x\n    oom_score_adj: 500\n", nil},
		{"ulimit core", "services:\n  web:\n    image: x\n    ulimits:\n      core: -1\n", []string{"service web: ulimits: core=-1 would let the container dump its memory"}},
		{"ulimit core hard", "services:\n  web:\n    image: x\n    ulimits:\n      core: {soft: 0, hard: 1000}\n", []string{"ulimits: core=0:1000"}},
		{"ulimit memlock", "services:\n  web:\n    image: x\n    ulimits:\n      memlock: {soft: -1, hard: -1}\n", []string{"ulimits: memlock=-1 would let the container lock memory"}},
		{"ulimit rtprio", "services:\n  web:\n    image: x\n    ulimits:\n      rtprio: 99\n", []string{"ulimits: rtprio=99 would let the container take the host's CPUs"}},
		{"ulimit stack", "services:\n  web:\n    image: x\n    ulimits:\n      stack: 8192\n", []string{"ulimits: stack=8192 is not allowed in this exercise (only nofile, nproc and core=0 are)"}},
		{"ulimits clamped later", "services:\n  web:\n    image: x\n    ulimits:\n      nofile: {soft: 1024, hard: 2000000}\n      nproc: 65535\n      core: 0\n", nil},
		{"tmpfs with a memory policy", "services:\n  web:\n    image: x\n    tmpfs: [\"/x:size=1m,mpol=bind:0\"]\n", []string{"service web: tmpfs: /x:size=1m,mpol=bind:0 sets mpol=bind:0, which grade does not allow"}},
		{"tmpfs as a bind", "services:\n  web:\n    image: x\n    tmpfs: /x:bind\n", []string{"tmpfs: /x:bind sets bind"}},
		{"tmpfs clamped later", "services:\n  web:\n    image: x\n    tmpfs: [\"/x:size=100g,exec,suid,dev\", /y]\n    shm_size: 8g\n    volumes: [{type: tmpfs, target: /z, tmpfs: {size: 100g}}]\n", nil},
		{"compose labels on a service", "services:\n  web:\n    image: x\n    labels:\n      com.docker.compose.project: grade-run1-bob-ch07\n      com.docker.compose.service: redis\n      app: web\n",
			[]string{"service web: labels: com.docker.compose.project, com.docker.compose.service: grade.* and com.docker.compose.* labels are set by grade and by compose"}},
		{"grade labels on a service, as a list", "services:\n  web:\n    image: x\n    labels: [grade.job=bob/ch07]\n", []string{"service web: labels: grade.job"}},
		{"labels of the image built", "services:\n  web:\n    build: {context: ., labels: {com.docker.compose.project: other}}\n", []string{"service web: labels: com.docker.compose.project"}},
		{"deploy labels", "services:\n  web:\n    image: x\n    deploy: {labels: {grade.run: r0}}\n", []string{"service web: labels: grade.run"}},
		{"labels of a volume", "services:\n  web:\n    image: x\nvolumes:\n  d:\n    labels: {com.docker.compose.volume: other}\n", []string{"volume d: labels: com.docker.compose.volume"}},
		{"labels of a network", "services:\n  web:\n    image: x\nnetworks:\n  n:\n    labels: {grade.job: bob/ch07, com.docker.compose.network: n}\n", []string{"network n: labels: com.docker.compose.network, grade.job"}},
		{"labels of an anonymous volume", "services:\n  web:\n    image: x\n    volumes: [{type: volume, target: /d, volume: {labels: {grade.job: bob/ch07}}}]\n", []string{"service web: volumes: /d: labels: grade.job"}},
		{"plain labels", "services:\n  web:\n    image: x\n    labels: {app: web, com.example.grade.job: x}\nvolumes:\n  d: {labels: {app: web}}\n", nil},
		{"an image not the exercise's", "services:\n  web:\n    image: postgres:16\n", []string{"service web: image: postgres:16 is not an image of this exercise (x, redis:alpine); use one of those, or build: from your Dockerfile"}},
		{"another job's image", "services:\n  web:\n    image: grade-run1-bob-ch07-compose-counter-s1-web:latest\n", []string{"image: grade-run1-bob-ch07-compose-counter-s1-web:latest is not an image of this exercise"}},
		{"the exercise's image by digest", "services:\n  web:\n    image: redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", []string{"is not an image of this exercise"}},
		{"the exercise's image in full", "services:\n  web:\n    image: docker.io/library/redis:alpine\n", nil},
		{"the image another service builds", "services:\n  web:\n    build: .\n    image: myapp\n  worker:\n    image: myapp:latest\n", nil},
		{"several at once", "services:\n  web:\n    image: x\n    privileged: true\n    network_mode: host\n    volumes: [\"/:/host\"]\n",
			[]string{"privileged", "network_mode: host", "/:/host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/", filepath.Join(dir, "h")); err != nil {
				t.Fatal(err)
			}
			p, refused, err := VetCompose(context.Background(), dir, "compose.yaml", "grade-test", testImages)
			if err != nil {
				t.Fatal(err)
			}
			if p != nil {
				// What is accepted never keeps a label of grade's or of compose's,
				// nor a negative OOM score.
				for name, svc := range p.Services {
					for k := range svc.Labels {
						if guard.ReservedLabel(k) && len(refused) == 0 {
							t.Errorf("service %s keeps the label %s", name, k)
						}
					}
				}
			}
			all := strings.Join(refused, "\n")
			if len(tt.want) == 0 {
				if len(refused) > 0 || p == nil {
					t.Fatalf("refused a good file:\n%s", all)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("reasons lack %q:\n%s", w, all)
				}
			}
			if strings.Contains(all, dir) {
				t.Errorf("reasons show grade's own paths:\n%s", all)
			}
		})
	}
}

// TestWriteProjectInterpolatesNothing: the project grade hands the compose
// engine, loaded again with grade's environment, keeps the student's values:
// "$$" stays a literal dollar, and "${HOME}" does not become grade's HOME.
func TestWriteProjectInterpolatesNothing(t *testing.T) {
	dir := t.TempDir()
	file := "services:\n  web:\n    image: x\n    environment:\n      PRICE: \"$$5\"\n      WHERE: \"${HOME}\"\n      HOME:\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	p, refused, err := VetCompose(context.Background(), dir, "compose.yaml", "grade-test", testImages)
	if err != nil || len(refused) > 0 {
		t.Fatalf("%v %v", refused, err)
	}
	dropInherited(p)
	path, cleanup, err := writeProject(p, func() (string, error) { return os.MkdirTemp("", composeDirPrefix) })
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: data}},
		Environment: types.Mapping{"HOME": "/grade-secret"},
	}, func(o *loader.Options) { o.SetProjectName("grade-test", true) })
	if err != nil {
		t.Fatal(err)
	}
	env := again.Services["web"].Environment
	if got := *env["PRICE"]; got != "$5" {
		t.Errorf("PRICE = %q, want $5", got)
	}
	for _, k := range []string{"WHERE", "HOME"} {
		if got := env[k]; got != nil && strings.Contains(*got, "grade-secret") {
			t.Errorf("%s = %q: grade's environment leaked into the student's stack", k, *got)
		}
	}
}

// TestSandboxKernel: what VetCompose accepts of a service's OOM score,
// ulimits, shm size, tmpfs and labels is clamped as the guard clamps a
// script's docker run.
func TestSandboxKernel(t *testing.T) {
	dir := t.TempDir()
	file := `services:
  web:
    image: x
    oom_score_adj: 500
    shm_size: 8g
    ulimits:
      nofile: -1
      nproc: {soft: 50, hard: 100000}
      core: 0
    tmpfs: ["/x:size=100g,exec,suid,dev", /y, "/z:size=1m,mode=1777"]
    labels: {app: web}
    volumes:
      - {type: tmpfs, target: /t, tmpfs: {size: 100g}}
      - {type: tmpfs, target: /u}
      - {type: tmpfs, target: /v, tmpfs: {size: 1m}}
      - {type: volume, target: /d, volume: {labels: {app: d}}}
  small:
    image: x
    shm_size: 64m
`
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	p, refused, err := VetCompose(context.Background(), dir, "compose.yaml", "grade-test", testImages)
	if err != nil || len(refused) > 0 {
		t.Fatalf("%v %v", refused, err)
	}
	l := checks.Limits{Memory: 256 << 20, PIDs: 100}
	mem := "268435456"
	web := p.Services["web"]
	sandboxKernel(&web, l)
	if web.OomScoreAdj != 500 || web.ShmSize != 256<<20 {
		t.Errorf("oom_score_adj %d, shm_size %d", web.OomScoreAdj, web.ShmSize)
	}
	ul := map[string][2]int{}
	for k, u := range web.Ulimits {
		c := composeUlimit(k, u)
		ul[k] = [2]int{int(c.Soft), int(c.Hard)}
	}
	if want := map[string][2]int{"nofile": {guard.MaxNofile, guard.MaxNofile}, "nproc": {50, 100}, "core": {0, 0}}; !reflect.DeepEqual(ul, want) {
		t.Errorf("ulimits %v, want %v", ul, want)
	}
	if want := (types.StringList{"/x:exec,nosuid,nodev,size=" + mem, "/y:nosuid,nodev,size=" + mem, "/z:mode=1777,nosuid,nodev,size=1m"}); !reflect.DeepEqual(web.Tmpfs, want) {
		t.Errorf("tmpfs %v, want %v", web.Tmpfs, want)
	}
	sizes := map[string]int64{}
	for _, v := range web.Volumes {
		if v.Type == types.VolumeTypeTmpfs && v.Tmpfs != nil {
			sizes[v.Target] = int64(v.Tmpfs.Size)
		}
	}
	if want := map[string]int64{"/t": 256 << 20, "/u": 256 << 20, "/v": 1 << 20}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("tmpfs volumes %v, want %v", sizes, want)
	}
	small := p.Services["small"]
	sandboxKernel(&small, l)
	if small.ShmSize != 64<<20 {
		t.Errorf("a smaller shm_size became %d", small.ShmSize)
	}
	// The project as grade writes it for the compose engine loads again,
	// with the clamped values.
	p.Services["web"] = web
	path, cleanup, err := writeProject(p, func() (string, error) { return os.MkdirTemp("", composeDirPrefix) })
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	data, _ := os.ReadFile(path)
	again, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: data}},
	}, func(o *loader.Options) { o.SetProjectName("grade-test", true) })
	if err != nil {
		t.Fatalf("the sandboxed project does not load again: %v\n%s", err, data)
	}
	if u := again.Services["web"].Ulimits["core"]; u == nil || composeUlimit("core", u) != (guard.Ulimit{Name: "core"}) {
		t.Errorf("core %+v once written", u)
	}
	if u := again.Services["web"].Ulimits["nproc"]; u == nil || composeUlimit("nproc", u) != (guard.Ulimit{Name: "nproc", Soft: 50, Hard: 100}) {
		t.Errorf("nproc %+v once written", u)
	}
}
