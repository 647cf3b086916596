package guard

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// What a container may ask of the host's kernel beyond its cgroup limits:
// its OOM score, its rlimits (ulimits), the size of /dev/shm and of its
// tmpfs mounts, its labels. One policy for a script's docker run (the
// guard, commands.go) and a compose file's services (the engine's vet.go,
// which refuses, and compose.go, which clamps):
//
//   - a negative OOM score adjustment is refused (the host's kernel would
//     kill other processes first); a positive one is kept;
//   - ulimits: nofile is clamped to MaxNofile and nproc to the job's pids
//     limit; core only at 0; any other ulimit is refused;
//   - /dev/shm (shm size) is clamped to the job's memory limit;
//   - a tmpfs gets nosuid and nodev whatever it asks, and a size no larger
//     than the job's memory limit (its own when smaller); exec may stay;
//     options beyond those TmpfsOptions keeps are refused;
//   - labels of grade's (grade.*) and of the compose engine's
//     (com.docker.compose.*) are never the student's (ReservedLabel).

// MaxNofile caps a container's open files (--ulimit nofile): the kernel's
// default fs.nr_open, the most a process may ever have. An engine whose own
// limit is lower refuses to start a container asking for more, as it would
// without grade.
const MaxNofile = 1 << 20

// Ulimit is one --ulimit (or a compose file's ulimits: entry); a negative
// value is unlimited.
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// String writes u as docker run takes it: name=soft[:hard].
func (u Ulimit) String() string {
	if u.Soft == u.Hard {
		return fmt.Sprintf("%s=%d", u.Name, u.Soft)
	}
	return fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard)
}

// refusedUlimit says why grade refuses a ulimit, by its name.
var refusedUlimit = map[string]string{
	"core":       "would let the container dump its memory to the host's core-dump handler (only core=0 is allowed)",
	"memlock":    "would let the container lock memory the host cannot reclaim",
	"rtprio":     "would let the container take the host's CPUs at real-time priority",
	"rttime":     "would let the container take the host's CPUs at real-time priority",
	"nice":       "would let the container raise its priority above the host's processes",
	"msgqueue":   "would let the container hold kernel memory beyond its memory limit",
	"sigpending": "would let the container hold kernel memory beyond its memory limit",
}

// VetUlimit gives a ulimit as grade lets a container have it (nofile and
// nproc clamped to MaxNofile and pids, when pids > 0), or why it is
// refused (why is "" when it is not), to follow the option as the student
// wrote it.
func VetUlimit(u Ulimit, pids int64) (out Ulimit, why string) {
	clamp := func(limit int64) Ulimit {
		c := u
		if c.Soft < 0 || c.Soft > limit {
			c.Soft = limit
		}
		if c.Hard < 0 || c.Hard > limit {
			c.Hard = limit
		}
		return c
	}
	switch u.Name {
	case "nofile":
		return clamp(MaxNofile), ""
	case "nproc":
		if pids <= 0 {
			return u, ""
		}
		return clamp(pids), ""
	case "core":
		if u.Soft == 0 && u.Hard == 0 {
			return u, ""
		}
	}
	if why, ok := refusedUlimit[u.Name]; ok {
		return u, why
	}
	return u, "is not allowed in this exercise (only nofile, nproc and core=0 are)"
}

// OOMScoreAdjRefused says why grade refuses an OOM score adjustment, ""
// when it does not: a negative one makes the host's kernel kill other
// processes, grade's and the engine's included, before this container's.
func OOMScoreAdjRefused(adj int64) string {
	if adj < 0 {
		return "would make the host's kernel kill other processes before this container's when memory runs out"
	}
	return ""
}

// ClampSize is a size of shared memory or of a tmpfs (bytes, 0 for the
// engine's default) no larger than the job's memory limit (none when
// memory <= 0).
func ClampSize(size, memory int64) int64 {
	if memory > 0 && size > memory {
		return memory
	}
	return size
}

// tmpfsFlags are the flags a tmpfs may have (mount(8)); suid and dev are
// dropped (TmpfsOptions adds nosuid and nodev), "defaults" means nothing.
var tmpfsFlags = map[string]bool{
	"ro": true, "rw": true, "exec": true, "noexec": true, "nosuid": true, "nodev": true, "suid": true, "dev": true,
	"atime": true, "noatime": true, "relatime": true, "norelatime": true, "strictatime": true, "nostrictatime": true,
	"diratime": true, "nodiratime": true, "defaults": true,
}

// tmpfsData are the options with a value a tmpfs may have (the size apart).
var tmpfsData = map[string]bool{"mode": true, "uid": true, "gid": true, "nr_inodes": true}

// TmpfsOptions rewrites the options of a tmpfs mount (--tmpfs PATH:OPTS, a
// compose file's tmpfs: PATH:OPTS): the student's flags and data but suid
// and dev, then nosuid, nodev and the size, the student's if it is no
// larger than memory, else memory (none when memory <= 0). refused names
// an option grade does not allow (bind, mpol=, nr_blocks=, …), "" if none.
func TmpfsOptions(opts string, memory int64) (out, refused string) {
	var kept []string
	size := ""
	for o := range strings.SplitSeq(opts, ",") {
		key, _, data := strings.Cut(o, "=")
		switch {
		case o == "" || o == "defaults" || o == "suid" || o == "dev":
		case key == "size" && data:
			size = o
		case !data && tmpfsFlags[o], data && tmpfsData[key]:
			kept = append(kept, o)
		default:
			return "", o
		}
	}
	kept = append(kept, "nosuid", "nodev")
	if memory > 0 {
		if n, ok := parseTmpfsSize(strings.TrimPrefix(size, "size=")); !ok || n > memory {
			size = "size=" + strconv.FormatInt(memory, 10)
		}
	}
	if size != "" {
		kept = append(kept, size)
	}
	return strings.Join(kept, ","), ""
}

var tmpfsSizeRe = regexp.MustCompile(`^([0-9]+)([kKmMgGtTpPeE]?)$`)

// parseTmpfsSize reads a tmpfs size as the kernel does (memparse), in
// bytes; ok is false for what it cannot read for sure (a percentage of the
// host's memory, hex, an overflow), which TmpfsOptions takes as too large.
// A leading 0 is octal to the kernel, which only makes the size smaller.
func parseTmpfsSize(s string) (int64, bool) {
	m := tmpfsSizeRe.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, false
	}
	shift := strings.Index("kmgtpe", strings.ToLower(m[2]))*10 + 10
	if m[2] == "" {
		shift = 0
	}
	if shift > 0 && n > (1<<62)>>shift {
		return 0, false
	}
	return n << shift, true
}

// ReservedLabel reports whether a label is grade's (grade.*: which job an
// object is, what the clean-up removes) or the compose engine's
// (com.docker.compose.*: which project and service a container is), which
// a student's objects never carry as the student sets them.
func ReservedLabel(key string) bool {
	k := strings.ToLower(key)
	return strings.HasPrefix(k, "grade.") || strings.HasPrefix(k, "com.docker.compose.")
}

// SameImage reports whether two image references name the same image
// (redis:alpine is docker.io/library/redis:alpine).
func SameImage(a, b string) bool {
	na, err := parseName(a)
	if err != nil {
		return false
	}
	nb, err := parseName(b)
	return err == nil && na.String() == nb.String()
}
