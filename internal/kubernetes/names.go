package kubernetes

import (
	"fmt"
	"strconv"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Gatehouse names allow [A-Za-z0-9][A-Za-z0-9._-]* (config's validName),
// so the "/" of "httproute/NS/NAME/0" is written "_": Kubernetes names
// (DNS-1123) never contain "_", so the derived names stay unambiguous and
// deterministic:
//
//	listener   http-80, https-443, tcp-5432, udp-53
//	route      httproute_NS_NAME_RULE[_gN], ingress_NS_NAME_RULE_PATH
//	           (RULE: the rule's index, or its name when it has one)
//	l4 route   tlsroute_NS_NAME (tcproute_..., udproute_...)
//	upstream   the HTTPRoute rule's route name; svc_NS_NAME_PORT for Ingress;
//	           mirror_NS_NAME_RULE_N for a rule's N-th filter, a RequestMirror
func joinName(parts ...any) string {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, "_")
}

// ruleName is a route rule's part of the names above: its name when it
// has one (rule names are unique within a route, as the API requires),
// else its index. A name of digits only could equal another rule's index,
// so it is written INDEX.NAME ("." never occurs in a rule name).
func ruleName(i int, name *gwv1.SectionName) string {
	switch {
	case name == nil || *name == "":
		return strconv.Itoa(i)
	case strings.Trim(string(*name), "0123456789") == "":
		return strconv.Itoa(i) + "." + string(*name)
	}
	return string(*name)
}

func listenerName(proto string, port int32) string { return fmt.Sprintf("%s-%d", proto, port) }
