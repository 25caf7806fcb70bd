package kubernetes

import (
	"fmt"
	"strings"
)

// Gatehouse names allow [A-Za-z0-9][A-Za-z0-9._-]* (config's validName),
// so the "/" of "httproute/NS/NAME/0" is written "_": Kubernetes names
// (DNS-1123) never contain "_", so the derived names stay unambiguous and
// deterministic:
//
//	listener   http-80, https-443, tcp-5432, udp-53
//	route      httproute_NS_NAME_RULE[_gN], ingress_NS_NAME_RULE_PATH
//	l4 route   tlsroute_NS_NAME (tcproute_..., udproute_...)
//	upstream   the HTTPRoute rule's route name; svc_NS_NAME_PORT for Ingress
func joinName(parts ...any) string {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, "_")
}

func listenerName(proto string, port int32) string { return fmt.Sprintf("%s-%d", proto, port) }
