#!/usr/bin/env bash
# Makes an RS256 key pair and a token for bench/gatehouse-jwt.yaml, in
# /tmp/gatehouse-jwt/ (public key: pub.pem, token: token), with openssl.
#   bash bench/jwt-token.sh
#   go build -o /tmp/gatehouse ./cmd/gatehouse
#   GATEWAY_CMD="/tmp/gatehouse run -c bench/gatehouse-jwt.yaml" \
#     WRK_HEADER="Authorization: Bearer $(cat /tmp/gatehouse-jwt/token)" ../shared/bench/compare.sh
set -euo pipefail
dir=/tmp/gatehouse-jwt
mkdir -p "$dir"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/key.pem" 2>/dev/null
openssl pkey -in "$dir/key.pem" -pubout -out "$dir/pub.pem"
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
header=$(printf '{"alg":"RS256","typ":"JWT","kid":"bench"}' | b64url)
payload=$(printf '{"iss":"https://bench.example","aud":"bench","sub":"bench-user","scope":"read","iat":%d,"exp":%d}' \
  "$(date +%s)" $(( $(date +%s) + 86400 )) | b64url)
sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$dir/key.pem" -binary | b64url)
printf '%s.%s.%s' "$header" "$payload" "$sig" > "$dir/token"
echo "$dir/token"
