// Package h1wire holds the HTTP/1.1 wire-format pieces shared by the
// client (internal/h1client) and the server (internal/h1server): the
// chunked body reader, token and field-value validation, and the field-line
// parsing core. It knows nothing of either side's error types: it reports
// failures with its own sentinels and each package maps them to what it
// exposes (a 502-class protocol error in the client, a 400 in the server),
// so that the shared code cannot drift while the policies stay separate.
package h1wire
