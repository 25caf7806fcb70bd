// Package mirror copies a route's requests to other upstreams and
// forgets them: Gateway API's HTTPRoute RequestMirror filter
// (gateway.networking.k8s.io/v1 HTTPRequestMirrorFilter, with percent or
// fraction), which Envoy calls request_mirror_policies ("shadowing").
// The copy's response is read and discarded; only its outcome is counted.
//
// The primary request must never notice its mirrors. Hence:
//
//   - The mirror layer runs innermost, just around the route's action, so
//     the copy is the request the upstream gets: method, path and headers
//     after the route's request filters, as Envoy's router does.
//   - Each copy is sent from its own goroutine; the primary's handler never
//     waits on it. A copy takes a slot of a per-target in-flight bound
//     (Config.MaxInFlight) before anything is buffered; with no slot free
//     it is dropped and counted, never queued.
//   - A request body is not read ahead of the primary: it is teed as the
//     primary's upstream reads it, and the copy leaves once the whole body
//     has passed. The buffer is bounded (Config.MaxBodyBytes): a body that
//     declares more, or turns out larger, is not mirrored at all (counted
//     dropped). Mirroring it without its body, or with half of it, would
//     send the mirror a different request, which is worse than none. A
//     body the primary never reads completely (an action that answers
//     without it, an upstream that answers early) is not mirrored either.
//   - The copy is bounded by Config.Timeout and runs on a context of its
//     own, so the primary finishing, or its client leaving, does not
//     cancel it.
//
// Trade-offs. A body is held in memory until its copies finish, so the
// worst case is MaxInFlight × MaxBodyBytes per mirror target; the defaults
// (64 × 64 KiB = 4 MiB) favour API traffic over uploads. The copy leaves
// only after the primary has sent the whole body, so a slow upload reaches
// the mirror late, never early or partially. Upgrade requests (WebSocket)
// are mirrored as plain requests: the mirror never gets a tunnel.
//
// Host: like Envoy, the copy's Host (HTTP/2 :authority) is the original
// with "-shadow" appended to the host name ("api.example.com:8080" becomes
// "api.example.com-shadow:8080"), which lets a mirror backend tell shadow
// traffic from real traffic; the path and query are unchanged, which is
// what the Gateway API conformance tests look for on the mirror backend.
package mirror
