package waf

import (
	"log/slog"
	"net/http"

	"github.com/corazawaf/coraza/v3/types"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// maxLoggedRules bounds the rules listed in one audit line; a crafted
// request can match hundreds.
const maxLoggedRules = 32

// audit writes the one warn-level line of a blocked or detected request:
// which rules matched with their messages, and who sent what.
func (w *WAF) audit(r *http.Request, tx types.Transaction, it *types.Interruption, msg string, status int) {
	if !w.log.Enabled(r.Context(), slog.LevelWarn) {
		return
	}
	var ids []int
	var msgs []string
	for _, m := range tx.MatchedRules() {
		// Rules without a message, and CRS initialisation (901xxx, e.g.
		// 901340 "Enabling body inspection"), are bookkeeping, not findings.
		id := m.Rule().ID()
		if m.Message() == "" || id >= 901000 && id <= 901999 {
			continue
		}
		if len(ids) == maxLoggedRules {
			break
		}
		ids = append(ids, id)
		msgs = append(msgs, m.Message())
	}
	client, _ := clientAddr(r)
	attrs := []slog.Attr{
		slog.Int("rule_id", it.RuleID),
		slog.Any("rule_ids", ids),
		slog.Any("messages", msgs),
		slog.String("client_ip", client),
		slog.String("method", r.Method),
		slog.String("uri", requestURI(r)),
		slog.String("tx_id", tx.ID()),
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if info := reqinfo.FromContext(r.Context()); info != nil {
		if info.RequestID != "" {
			attrs = append(attrs, slog.String("request_id", info.RequestID))
		}
		if info.Route != "" {
			attrs = append(attrs, slog.String("route", info.Route))
		}
	}
	w.log.LogAttrs(r.Context(), slog.LevelWarn, msg, attrs...)
}
