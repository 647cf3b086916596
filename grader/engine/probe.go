package engine

import (
	"archive/tar"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strconv"
	"strings"

	"github.com/gradeproject/grade/checks"
)

// dockerDNS is where the engine's embedded DNS server listens in containers
// on user-defined networks.
var dockerDNS = net.IPv4(127, 0, 0, 11)

// parseProcNet reads /proc/net/tcp and /proc/net/tcp6 content and returns
// the listening sockets (state 0A), deduplicated.
func parseProcNet(s string) []checks.Listener {
	var out []checks.Listener
	seen := map[string]bool{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" || !strings.Contains(f[1], ":") {
			continue
		}
		hexAddr, hexPort, _ := strings.Cut(f[1], ":")
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil {
			continue
		}
		ip, proto := decodeProcIP(hexAddr)
		if ip == nil {
			continue
		}
		if ip.Equal(dockerDNS) {
			continue // the engine's embedded DNS server, not the app
		}
		l := checks.Listener{Proto: proto, Addr: ip.String(), Port: int(port)}
		key := fmt.Sprint(l)
		if !seen[key] {
			seen[key] = true
			out = append(out, l)
		}
	}
	return out
}

// decodeProcIP decodes the kernel's hex address: 32-bit words in host
// (little-endian) order.
func decodeProcIP(h string) (net.IP, string) {
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return nil, ""
	}
	ip := make(net.IP, len(b))
	for i := 0; i < len(b); i += 4 {
		ip[i], ip[i+1], ip[i+2], ip[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	if len(b) == 4 {
		return ip, "tcp"
	}
	if v4 := ip.To4(); v4 != nil && !ip.Equal(net.IPv6zero) {
		return v4, "tcp6"
	}
	return ip, "tcp6"
}

// readTarFile reads the first entry of a tar stream from CopyFromContainer.
func readTarFile(r io.Reader, p, linkTarget string, limit int64) (checks.File, error) {
	tr := tar.NewReader(r)
	h, err := tr.Next()
	if errors.Is(err, io.EOF) {
		return checks.File{}, checks.ErrNotExist
	}
	if err != nil {
		return checks.File{}, fmt.Errorf("reading %s: %w", p, err)
	}
	f := checks.File{Path: p, Mode: h.FileInfo().Mode(), Size: h.Size, LinkTarget: linkTarget}
	if h.Typeflag == tar.TypeSymlink {
		f.Mode |= fs.ModeSymlink
		f.LinkTarget = h.Linkname
	}
	if h.Typeflag == tar.TypeReg {
		b, err := io.ReadAll(io.LimitReader(tr, limit))
		if err != nil {
			return checks.File{}, fmt.Errorf("reading %s: %w", p, err)
		}
		f.Content, f.Truncated = b, h.Size > limit
	}
	return f, nil
}
