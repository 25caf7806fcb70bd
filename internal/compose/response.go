package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/problem"
)

// finish writes the answer once every step has settled: 504 when the
// composition's deadline passed, 502 naming the first step that failed
// with Fail, otherwise 200 with the merged document.
func (x *run) finish(w http.ResponseWriter, tctx context.Context) {
	if x.info != nil {
		x.info.Compose = x.summary()
	}
	if errors.Is(tctx.Err(), context.DeadlineExceeded) {
		problem.Write(w, x.r, http.StatusGatewayTimeout, fmt.Sprintf("the composition did not finish within %s", x.c.timeout))
		return
	}
	if x.failed >= 0 {
		s, o := x.c.cfg.Steps[x.failed], x.out[x.failed]
		problem.Write(w, x.r, http.StatusBadGateway, fmt.Sprintf("step %q failed: %v", s.Name, o.err))
		return
	}
	if err := x.r.Context().Err(); err != nil {
		// The client went away; whatever is written is not read.
		problem.Write(w, x.r, http.StatusBadGateway, "the request was cancelled")
		return
	}
	body, err := json.Marshal(x.c.merge(x.out))
	if err != nil {
		problem.Write(w, x.r, http.StatusBadGateway, "the composed answer could not be encoded")
		return
	}
	body = append(body, '\n')
	h := w.Header()
	var missing []string
	for i, s := range x.c.cfg.Steps {
		if r := x.out[i].result; r == Omitted || r == Defaulted {
			missing = append(missing, s.Name)
		}
	}
	if len(missing) > 0 {
		h.Set(MissingHeader, strings.Join(missing, ", "))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if x.r.Method != http.MethodHead {
		w.Write(body)
	}
}
