package gatewayapi

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// podLog is one pod's output, as echo-basic prints it (the suite's
// mirroring tests look for "Echoing back request made to PATH to client"
// in the mirror backend's log). Bounded: old lines are dropped.
type podLog struct {
	mu    sync.Mutex
	lines []string
}

const maxLogLines = 10000

func (l *podLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) >= maxLogLines {
		l.lines = l.lines[len(l.lines)/2:]
	}
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *podLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n") + "\n"
}

// logServer is the one API server endpoint the suite reaches through a
// clientset instead of the controller-runtime client: pod logs
// (GET /api/v1/namespaces/NS/pods/NAME/log). Everything else is 404, so a
// test needing more fails with an error instead of a nil clientset panic.
type logServer struct {
	kubelet *kubelet
	srv     *http.Server
	url     string
}

func startLogServer(k *kubelet) (*logServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &logServer{kubelet: k, url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/log", func(w http.ResponseWriter, r *http.Request) {
		l := k.log(r.PathValue("ns"), r.PathValue("name"))
		if l == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(l.String()))
	})
	s.srv = &http.Server{Handler: mux}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *logServer) clientset() (clientset.Interface, *rest.Config, error) {
	cfg := &rest.Config{Host: s.url}
	cs, err := clientset.NewForConfig(cfg)
	return cs, cfg, err
}

func (s *logServer) close() { s.srv.Close() }
