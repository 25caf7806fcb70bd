package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const uploadSize = 200 << 20 // 200 MiB

// genReader yields size deterministic pseudo-random bytes without holding
// them: chunk k of 64 KiB is a fixed random block rotated by k*7919, so no
// two neighbouring chunks are equal (a dropped or repeated chunk changes
// the hash) and producing a chunk is two copies, not a per-byte loop.
type genReader struct {
	block []byte
	pos   int64
	size  int64
}

func newGenReader(size int64) *genReader {
	block := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(block); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			block[i+j] = byte(v >> (8 * j))
		}
	}
	return &genReader{block: block, size: size}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.pos >= g.size {
		return 0, io.EOF
	}
	n := int64(len(g.block))
	total := 0
	for len(p) > 0 && g.pos < g.size {
		k, o := g.pos/n, g.pos%n
		start := (o + k*7919) % n
		m := min(int64(len(p)), n-o, n-start, g.size-g.pos)
		copy(p[:m], g.block[start:start+m])
		p = p[m:]
		g.pos += m
		total += int(m)
	}
	return total, nil
}

// TestUploadStreamsWithBoundedMemory sends 200 MiB twice (chunked, then with
// Content-Length) through the gateway to a sink that counts and hashes
// every byte, then reads the gateway's peak RSS (VmHWM).
//
// The bound is on growth over the idle peak: 32 MiB. A gateway that
// buffers a whole body needs at least its 200 MiB, so any growth well
// below the body size proves streaming, and a bound under a sixth of the
// body also catches partial buffering (say, a spool of tens of MiB). A
// streaming gateway grows by a few 32 KiB copy buffers and the GC's lag
// with gc_percent 400. The idle footprint itself (Go runtime, mapped
// binary: ~25 MiB, ~65 MiB since the Kubernetes controller's client-go)
// depends on what the binary links, not on streaming.
// The race runtime multiplies memory (shadow memory for every heap byte),
// so the measured process is a build without -race (plainGateway).
func TestUploadStreamsWithBoundedMemory(t *testing.T) {
	be := newBackend(t, "sink")
	addr, admin := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.yaml")
	yaml := fmt.Sprintf(`
listeners:
  - name: web
    address: %s
upstreams:
  - name: sink
    targets: [{url: %s}]
routes:
  - name: upload
    backend: {upstream: sink}
    timeout: 2m
`, addr, be.url) + adminTail(admin)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGatewayFile(t, plainGateway(t), path, admin)
	hwm0 := procMemKiB(t, g.pid(), "VmHWM")
	c := httpClient(t)
	c.Timeout = 3 * time.Minute

	for _, chunked := range []bool{true, false} {
		h := sha256.New()
		body := io.TeeReader(newGenReader(uploadSize), h)
		req, err := http.NewRequest("POST", "http://"+addr+"/upload", io.NopCloser(body))
		if err != nil {
			t.Fatal(err)
		}
		label := "chunked"
		req.ContentLength = -1 // unknown length: the client sends chunked
		if !chunked {
			label = "Content-Length"
			req.ContentLength = uploadSize
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s upload: %v", label, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s upload: %d %q", label, resp.StatusCode, b)
		}
		var rep uploadReply
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("%s upload: sink reply %q: %v", label, b, err)
		}
		want := hex.EncodeToString(h.Sum(nil))
		if rep.Bytes != uploadSize || rep.SHA256 != want {
			t.Errorf("%s upload: sink received %d bytes sha256 %s, want %d bytes sha256 %s", label, rep.Bytes, rep.SHA256, uploadSize, want)
		}
		t.Logf("%s upload: %d MiB in %v (sink saw Content-Length %d, Transfer-Encoding %q)",
			label, rep.Bytes>>20, time.Since(start).Round(time.Millisecond), rep.ContentLength, rep.TransferEncoding)
	}

	hwm, rss := procMemKiB(t, g.pid(), "VmHWM"), procMemKiB(t, g.pid(), "VmRSS")
	t.Logf("gateway peak RSS (VmHWM) after 2 x %d MiB uploads: %.1f MiB (current VmRSS %.1f MiB)", uploadSize>>20, float64(hwm)/1024, float64(rss)/1024)
	const growthMiB = 32
	if hwm-hwm0 > growthMiB*1024 {
		t.Errorf("gateway peak RSS grew %.1f MiB (%.1f → %.1f), more than %d MiB: the upload is buffered, not streamed",
			float64(hwm-hwm0)/1024, float64(hwm0)/1024, float64(hwm)/1024, growthMiB)
	}
}

// procMemKiB reads a "Vm*: N kB" line of /proc/PID/status.
func procMemKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading gateway memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, field+":") {
			fs := strings.Fields(line[len(field)+1:])
			if len(fs) >= 1 {
				n, err := strconv.ParseInt(fs[0], 10, 64)
				if err == nil {
					return n
				}
			}
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
