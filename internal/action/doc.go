// Package action holds a route's direct answers: handlers that end the
// request at the gateway instead of proxying it (respond, redirect).
//
// Each action is one file and one constructor from its own small Config;
// none reads the YAML structs. The proxy, the third action a route can
// have, lives in its own package because it owns connection pools,
// retries and circuit breaking.
package action
