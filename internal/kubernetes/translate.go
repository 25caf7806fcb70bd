package kubernetes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// readGroups are the API groups whose kinds are about routing: one that
// Decode does not read is reported rather than silently skipped.
var readGroups = map[string]bool{gwv1.GroupName: true, "networking.k8s.io": true, PolicyGroup: true}

// translator carries one Translate call.
type translator struct {
	opts      Options
	ix        *index
	res       *Result
	cfg       *config.Config
	listeners []*gwListener
	upstreams map[string]bool
	// l4Defaults are the Gatehouse listeners that have an l4 route
	// without match (only one is allowed per listener).
	l4Defaults map[string]bool
	// tlsPolicies are the BackendTLSPolicies in precedence order;
	// tlsTargets the one governing each NS/SERVICE/SECTION.
	tlsPolicies []*tlsPolicy
	tlsTargets  map[string]*tlsPolicy
	// lastAttach holds, per route kind, namespace and parent section, the
	// Gateway listeners the last attach call matched: the status recorded
	// next for that parent says whether the route was accepted there,
	// which is what listener statuses count (attachedRoutes).
	lastAttach map[string][]*gwListener
	// clientCerts are the usable backend client certificates by Gateway
	// NS/NAME; upstreamGWs the Gateways each upstream's routes attach to
	// (backendclientcert.go).
	clientCerts map[string]config.Certificate
	upstreamGWs map[string][]string
}

// Translate turns decoded objects into Gatehouse configuration. It is
// pure: nothing is read or written (certificate PEM is returned in
// Result.Files). Objects are processed in namespace/name order, so the
// output does not depend on the order of files or documents.
func Translate(objs []Object, opts Options) *Result {
	res := &Result{Files: map[string][]byte{}}
	t := &translator{
		opts:       opts.withDefaults(),
		ix:         newIndex(objs, &res.Errors),
		res:        res,
		cfg:        &config.Config{},
		upstreams:  map[string]bool{},
		l4Defaults: map[string]bool{},
		lastAttach: map[string][]*gwListener{},
	}
	t.res.Config = t.cfg
	for _, o := range objs {
		if group, _, ok := strings.Cut(o.APIVersion, "/"); o.Obj == nil && ok && readGroups[group] {
			t.errorf(o, "%s %s is not supported yet; ignored", o.Kind, o.APIVersion)
		}
	}
	t.gateways()
	t.backendTLSPolicies()
	for _, r := range t.ix.httpRoutes {
		t.httpRoute(r)
	}
	for _, r := range t.ix.grpcRoutes {
		t.grpcRoute(r)
	}
	for _, r := range t.ix.l4Routes {
		t.l4Route(r)
	}
	t.applyClientCerts()
	t.ingresses()
	t.isolationRoutes()
	t.backendTLSStatuses()
	t.listenerCounts()
	return t.res
}

func (t *translator) status(kind, ns, name, section string, conds ...Condition) {
	t.res.Statuses = append(t.res.Statuses, Status{Kind: kind, Namespace: ns, Name: name, Section: section, Conditions: conds})
	if c, ok := (Status{Conditions: conds}).Condition("Accepted"); ok && c.Status == "True" && strings.HasPrefix(section, "Gateway ") {
		for _, gl := range t.lastAttach[kind+"|"+ns+"|"+section] {
			if gl.routes == nil {
				gl.routes = map[string]bool{}
			}
			gl.routes[kind+"/"+ns+"/"+name] = true
		}
	}
}

// listenerCounts completes the Gateway listener statuses with the routes
// accepted on each listener and the kinds it carries.
func (t *translator) listenerCounts() {
	for _, gl := range t.listeners {
		for i := range t.res.Statuses {
			s := &t.res.Statuses[i]
			if s.Kind == "Gateway" && s.Namespace == gl.gw.obj.Namespace && s.Name == gl.gw.obj.Name && s.Section == string(gl.spec.Name) {
				s.AttachedRoutes = int32(len(gl.routes))
				s.SupportedKinds = gl.kinds
			}
		}
	}
}

func (t *translator) errorf(o Object, format string, args ...any) {
	t.res.Errors = append(t.res.Errors, &Error{File: o.File, Line: o.Line, Msg: fmt.Sprintf(format, args...)})
}

// attachment is where a route lands: Gatehouse listeners and the hosts it
// serves there (nil = any).
type attachment struct {
	listeners []string
	hosts     []string
	gateway   string // NS/NAME of the Gateway attached to
}

// parentSection names a route's parent in its status.
func parentSection(routeNS string, p gwv1.ParentReference) string {
	ns := routeNS
	if p.Namespace != nil {
		ns = string(*p.Namespace)
	}
	s := "Gateway " + ns + "/" + string(p.Name)
	if p.SectionName != nil {
		s += "/" + string(*p.SectionName)
	}
	if p.Port != nil {
		s += fmt.Sprintf(":%d", *p.Port)
	}
	return s
}

// attach resolves one parentRef of a route of kind to accepted Gateway
// listeners, applying sectionName, port, allowedRoutes and hostname
// intersection; on failure it returns the Accepted reason and message.
func (t *translator) attach(kind, routeNS string, p gwv1.ParentReference, hostnames []gwv1.Hostname) ([]attachment, string, string) {
	if (p.Group != nil && string(*p.Group) != gwv1.GroupName) || (p.Kind != nil && *p.Kind != "Gateway") {
		return nil, "NoMatchingParent", "only Gateway parents are supported"
	}
	ns := routeNS
	if p.Namespace != nil {
		ns = string(*p.Namespace)
	}
	route := make([]string, len(hostnames))
	for i, h := range hostnames {
		route[i] = string(h)
	}
	found, kindOK, nsOK, isolated := false, false, false, false
	groups := map[string]*attachment{}
	var order []string
	var matched []*gwListener
	hostOK := false
	for _, gl := range t.listeners {
		g := gl.gw.obj
		if g.Namespace != ns || g.Name != string(p.Name) {
			continue
		}
		if p.SectionName != nil && string(*p.SectionName) != string(gl.spec.Name) {
			continue
		}
		if p.Port != nil && *p.Port != gl.spec.Port {
			continue
		}
		found = true
		if !gl.ok && !gl.attachable {
			continue
		}
		if !slices.Contains(gl.kinds, kind) {
			continue
		}
		kindOK = true
		if !t.namespaceAllowed(gl.spec.AllowedRoutes, g.Namespace, routeNS) {
			continue
		}
		nsOK = true
		hosts, ok := intersect(hostnameOf(gl.spec.Hostname), route)
		if !ok {
			continue
		}
		hostOK = true
		if !gl.ok {
			matched = append(matched, gl) // counted, not served
			continue
		}
		if hosts, ok = t.isolate(gl, hosts); !ok {
			isolated = true
			matched = append(matched, gl) // attached, routes nothing
			continue
		}
		k := fmt.Sprint(hosts)
		a, seen := groups[k]
		if !seen {
			a = &attachment{hosts: hosts, gateway: key(ns, string(p.Name))}
			groups[k] = a
			order = append(order, k)
		}
		if !slices.Contains(a.listeners, gl.glName) {
			a.listeners = append(a.listeners, gl.glName)
		}
		matched = append(matched, gl)
	}
	t.lastAttach[kind+"|"+routeNS+"|"+parentSection(routeNS, p)] = matched
	switch {
	case !found:
		return nil, "NoMatchingParent", fmt.Sprintf("no listener of Gateway %s/%s matches", ns, p.Name)
	case !kindOK || !nsOK:
		return nil, "NotAllowedByListeners", fmt.Sprintf("no listener of Gateway %s/%s allows %s from namespace %s", ns, p.Name, kind, routeNS)
	case len(order) == 0 && isolated:
		return nil, "", "" // accepted, but every hostname belongs to a more specific listener
	case !hostOK:
		return nil, "NoMatchingListenerHostname", "no listener hostname intersects the route's hostnames"
	}
	out := make([]attachment, len(order))
	for i, k := range order {
		out[i] = *groups[k]
	}
	return out, "", ""
}
