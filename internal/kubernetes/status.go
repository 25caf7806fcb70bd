package kubernetes

import (
	"reflect"
	"slices"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1a2 "sigs.k8s.io/gateway-api/apis/v1alpha2"
)

// StatusOptions say what ApplyStatus writes besides the translation's
// conditions.
type StatusOptions struct {
	// ControllerName identifies this controller in route parent and
	// policy ancestor statuses ("" = DefaultControllerName).
	ControllerName string
	// Addresses are written to every served Gateway's status.addresses.
	Addresses []gwv1.GatewayStatusAddress
	// IngressIPs are written to served Ingresses' status.loadBalancer.
	IngressIPs []string
	// Now stamps conditions whose status changed (zero = time.Now()).
	Now time.Time
}

// ApplyStatus sets obj's status from r for this controller. obj is a
// pointer to a decoded Gateway API object (GatewayClass, Gateway,
// HTTPRoute, GRPCRoute, TLSRoute/TCPRoute/UDPRoute of any version Decode
// reads, BackendTLSPolicy) or an *networkingv1.Ingress. Conditions get
// ObservedGeneration = obj's generation and keep LastTransitionTime when
// their status did not change (meta.SetStatusCondition); route parent
// and policy ancestor entries of other controllers are kept, and only
// parents that are Gateways this controller serves get an entry. It
// reports whether the status changed; objects that are not ours are left
// alone (false).
func (r *Result) ApplyStatus(obj any, o StatusOptions) bool {
	if o.ControllerName == "" {
		o.ControllerName = DefaultControllerName
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	w := statusWriter{r: r, o: o}
	switch x := obj.(type) {
	case *gwv1.GatewayClass:
		return w.gatewayClass(x)
	case *gwv1.Gateway:
		return w.gateway(x)
	case *gwv1.HTTPRoute:
		return w.route("HTTPRoute", &x.ObjectMeta, x.Spec.ParentRefs, &x.Status.RouteStatus)
	case *gwv1.GRPCRoute:
		return w.route("GRPCRoute", &x.ObjectMeta, x.Spec.ParentRefs, &x.Status.RouteStatus)
	case *gwv1.TLSRoute:
		return w.route("TLSRoute", &x.ObjectMeta, x.Spec.ParentRefs, &x.Status.RouteStatus)
	case *gwv1a2.TLSRoute:
		return w.route("TLSRoute", &x.ObjectMeta, x.Spec.ParentRefs, &(*gwv1.TLSRouteStatus)(&x.Status).RouteStatus)
	case *gwv1.TCPRoute:
		return w.route("TCPRoute", &x.ObjectMeta, x.Spec.ParentRefs, &x.Status.RouteStatus)
	case *gwv1a2.TCPRoute:
		return w.route("TCPRoute", &x.ObjectMeta, x.Spec.ParentRefs, &(*gwv1.TCPRouteStatus)(&x.Status).RouteStatus)
	case *gwv1.UDPRoute:
		return w.route("UDPRoute", &x.ObjectMeta, x.Spec.ParentRefs, &x.Status.RouteStatus)
	case *gwv1a2.UDPRoute:
		return w.route("UDPRoute", &x.ObjectMeta, x.Spec.ParentRefs, &(*gwv1.UDPRouteStatus)(&x.Status).RouteStatus)
	case *gwv1.BackendTLSPolicy:
		return w.policy("BackendTLSPolicy", &x.ObjectMeta, &x.Status)
	case *networkingv1.Ingress:
		return w.ingress(x)
	}
	return false
}

// statusWriter carries one ApplyStatus call.
type statusWriter struct {
	r *Result
	o StatusOptions
}

// setConditions makes *dst hold exactly conds, the way the API
// conventions ask: a condition whose status did not change keeps its
// LastTransitionTime, and a type the translation no longer reports (such
// as InsecureFrontendValidationMode after the fallback is removed) is
// dropped, since this controller owns every condition it writes here.
func (w statusWriter) setConditions(dst *[]metav1.Condition, gen int64, conds []Condition) bool {
	before := slices.Clone(*dst)
	*dst = slices.DeleteFunc(*dst, func(old metav1.Condition) bool {
		return !slices.ContainsFunc(conds, func(c Condition) bool { return c.Type == old.Type })
	})
	for _, c := range conds {
		meta.SetStatusCondition(dst, metav1.Condition{
			Type: c.Type, Status: metav1.ConditionStatus(c.Status), Reason: c.Reason,
			Message: c.Message, ObservedGeneration: gen, LastTransitionTime: metav1.NewTime(w.o.Now),
		})
	}
	return !reflect.DeepEqual(before, *dst)
}

func (w statusWriter) gatewayClass(gc *gwv1.GatewayClass) bool {
	s, ok := w.r.Find("GatewayClass", "", gc.Name, "")
	if !ok {
		return false
	}
	return w.setConditions(&gc.Status.Conditions, gc.Generation, s.Conditions)
}

func (w statusWriter) gateway(gw *gwv1.Gateway) bool {
	s, ok := w.r.Find("Gateway", gw.Namespace, gw.Name, "")
	if !ok {
		return false
	}
	changed := w.setConditions(&gw.Status.Conditions, gw.Generation, s.Conditions)
	if !reflect.DeepEqual(gw.Status.Addresses, w.o.Addresses) && (len(gw.Status.Addresses) > 0 || len(w.o.Addresses) > 0) {
		gw.Status.Addresses = slices.Clone(w.o.Addresses)
		changed = true
	}
	var listeners []gwv1.ListenerStatus
	for _, l := range gw.Spec.Listeners {
		ls, ok := w.r.Find("Gateway", gw.Namespace, gw.Name, string(l.Name))
		if !ok {
			continue
		}
		st := gwv1.ListenerStatus{Name: l.Name, AttachedRoutes: ls.AttachedRoutes, SupportedKinds: []gwv1.RouteGroupKind{}}
		if i := slices.IndexFunc(gw.Status.Listeners, func(x gwv1.ListenerStatus) bool { return x.Name == l.Name }); i >= 0 {
			st.Conditions = slices.Clone(gw.Status.Listeners[i].Conditions)
		}
		for _, k := range ls.SupportedKinds {
			st.SupportedKinds = append(st.SupportedKinds, gwv1.RouteGroupKind{Group: ptr(gwv1.Group(gwv1.GroupName)), Kind: gwv1.Kind(k)})
		}
		w.setConditions(&st.Conditions, gw.Generation, ls.Conditions)
		listeners = append(listeners, st)
	}
	if !reflect.DeepEqual(gw.Status.Listeners, listeners) {
		gw.Status.Listeners = listeners
		changed = true
	}
	return changed
}

// route writes one parent entry per parentRef that names a Gateway this
// controller serves; route-wide conditions (Section "") are part of every
// entry, and ResolvedRefs defaults to True when the translation said
// nothing about references (a route that attached nowhere).
func (w statusWriter) route(kind string, m *metav1.ObjectMeta, refs []gwv1.ParentReference, st *gwv1.RouteStatus) bool {
	whole, _ := w.r.Find(kind, m.Namespace, m.Name, "")
	var mine []gwv1.RouteParentStatus
	for _, p := range refs {
		gwNS := m.Namespace
		if p.Namespace != nil {
			gwNS = string(*p.Namespace)
		}
		if _, served := w.r.Find("Gateway", gwNS, string(p.Name), ""); !served || !isGatewayRef(p) {
			continue
		}
		s, _ := w.r.Find(kind, m.Namespace, m.Name, parentSection(m.Namespace, p))
		conds := append(slices.Clone(s.Conditions), whole.Conditions...)
		if _, ok := s.Condition("ResolvedRefs"); !ok {
			if _, ok := whole.Condition("ResolvedRefs"); !ok {
				conds = append(conds, cond("ResolvedRefs", true, "ResolvedRefs", "all references resolved"))
			}
		}
		if _, ok := (Status{Conditions: conds}).Condition("Accepted"); !ok {
			continue
		}
		entry := gwv1.RouteParentStatus{ParentRef: p, ControllerName: gwv1.GatewayController(w.o.ControllerName)}
		if i := slices.IndexFunc(st.Parents, func(x gwv1.RouteParentStatus) bool {
			return string(x.ControllerName) == w.o.ControllerName && reflect.DeepEqual(x.ParentRef, p)
		}); i >= 0 {
			entry.Conditions = slices.Clone(st.Parents[i].Conditions)
		}
		w.setConditions(&entry.Conditions, m.Generation, conds)
		mine = append(mine, entry)
	}
	parents := slices.DeleteFunc(slices.Clone(st.Parents), func(x gwv1.RouteParentStatus) bool {
		return string(x.ControllerName) == w.o.ControllerName
	})
	parents = append(parents, mine...)
	if reflect.DeepEqual(parents, st.Parents) || (len(parents) == 0 && len(st.Parents) == 0) {
		return false
	}
	st.Parents = parents
	return true
}

func isGatewayRef(p gwv1.ParentReference) bool {
	return (p.Group == nil || string(*p.Group) == gwv1.GroupName) && (p.Kind == nil || *p.Kind == "Gateway")
}

// policy writes one ancestor entry per Gateway the translation reported
// for it (Section "Gateway NS/NAME").
func (w statusWriter) policy(kind string, m *metav1.ObjectMeta, st *gwv1.PolicyStatus) bool {
	var mine []gwv1.PolicyAncestorStatus
	for _, s := range w.r.Statuses {
		if s.Kind != kind || s.Namespace != m.Namespace || s.Name != m.Name {
			continue
		}
		ns, name, ok := gatewaySection(s.Section)
		if !ok {
			continue
		}
		ref := gwv1.ParentReference{Group: ptr(gwv1.Group(gwv1.GroupName)), Kind: ptr(gwv1.Kind("Gateway")),
			Namespace: ptr(gwv1.Namespace(ns)), Name: gwv1.ObjectName(name)}
		entry := gwv1.PolicyAncestorStatus{AncestorRef: ref, ControllerName: gwv1.GatewayController(w.o.ControllerName)}
		if i := slices.IndexFunc(st.Ancestors, func(x gwv1.PolicyAncestorStatus) bool {
			return string(x.ControllerName) == w.o.ControllerName && reflect.DeepEqual(x.AncestorRef, ref)
		}); i >= 0 {
			entry.Conditions = slices.Clone(st.Ancestors[i].Conditions)
		}
		w.setConditions(&entry.Conditions, m.Generation, s.Conditions)
		mine = append(mine, entry)
	}
	ancestors := slices.DeleteFunc(slices.Clone(st.Ancestors), func(x gwv1.PolicyAncestorStatus) bool {
		return string(x.ControllerName) == w.o.ControllerName
	})
	ancestors = append(ancestors, mine...)
	if reflect.DeepEqual(ancestors, st.Ancestors) || (len(ancestors) == 0 && len(st.Ancestors) == 0) {
		return false
	}
	st.Ancestors = ancestors
	return true
}

// gatewaySection parses a "Gateway NS/NAME" section.
func gatewaySection(s string) (ns, name string, ok bool) {
	const p = "Gateway "
	if len(s) <= len(p) || s[:len(p)] != p {
		return "", "", false
	}
	for i := len(p); i < len(s); i++ {
		if s[i] == '/' {
			return s[len(p):i], s[i+1:], true
		}
	}
	return "", "", false
}

func (w statusWriter) ingress(in *networkingv1.Ingress) bool {
	if _, ok := w.r.Find("Ingress", in.Namespace, in.Name, ""); !ok {
		return false
	}
	var lb []networkingv1.IngressLoadBalancerIngress
	for _, ip := range w.o.IngressIPs {
		lb = append(lb, networkingv1.IngressLoadBalancerIngress{IP: ip})
	}
	if reflect.DeepEqual(lb, in.Status.LoadBalancer.Ingress) {
		return false
	}
	in.Status.LoadBalancer.Ingress = lb
	return true
}

func ptr[T any](v T) *T { return &v }
