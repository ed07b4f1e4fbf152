#!/usr/bin/env bash
# Makes a throwaway test CA and a server certificate for localhost / 127.0.0.1 / ::1 signed by
# it (plus one for wrong.example, to test host name checks, and api.pem for the real API host
# names, which forward-proxy tests map to a fake upstream with --resolve), with the openssl CLI.
# Used by the integration tests' TLS fake upstream. Writes into the BUILD directory (never the
# source tree): no key is ever committed.
# Usage: make_test_certs.sh OUTDIR
set -euo pipefail
out=${1:?usage: make_test_certs.sh OUTDIR}
mkdir -p "$out"
cd "$out"
# Every file must be there: a build folder made before one was added regenerates them all (the
# CA key is thrown away, so a new certificate needs a new CA).
if [ -s server.pem ] && [ -s server.key ] && [ -s wrong-host.pem ] && [ -s api.pem ] &&
   [ -s api.key ] && [ -s ca.pem ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
  -subj "/CN=tapedeck test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null

openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
  -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
cat > "$tmp/server.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
  -CAcreateserial -days 3650 -sha256 -extfile "$tmp/server.ext" -out "$tmp/server.pem" 2>/dev/null

# A certificate from the same CA for another name: host name verification must reject it.
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=wrong.example" \
  -keyout "$tmp/wrong-host.key" -out "$tmp/wrong-host.csr" 2>/dev/null
sed 's/^subjectAltName=.*/subjectAltName=DNS:wrong.example/' "$tmp/server.ext" > "$tmp/wrong.ext"
openssl x509 -req -in "$tmp/wrong-host.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
  -CAcreateserial -days 3650 -sha256 -extfile "$tmp/wrong.ext" -out "$tmp/wrong-host.pem" \
  2>/dev/null

# The API hosts a forward-proxy test intercepts, plus loopback, so one upstream serves them all.
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=api.anthropic.com" \
  -keyout "$tmp/api.key" -out "$tmp/api.csr" 2>/dev/null
api_sans=DNS:api.anthropic.com,DNS:api.openai.com,DNS:localhost,IP:127.0.0.1
sed "s/^subjectAltName=.*/subjectAltName=$api_sans/" "$tmp/server.ext" > "$tmp/api.ext"
openssl x509 -req -in "$tmp/api.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
  -CAcreateserial -days 3650 -sha256 -extfile "$tmp/api.ext" -out "$tmp/api.pem" 2>/dev/null

# Install atomically-ish: the key and certificate first, the CA (what callers check) last.
mv "$tmp/server.key" server.key
mv "$tmp/server.pem" server.pem
mv "$tmp/wrong-host.key" wrong-host.key
mv "$tmp/wrong-host.pem" wrong-host.pem
mv "$tmp/api.key" api.key
mv "$tmp/api.pem" api.pem
mv "$tmp/ca.pem" ca.pem
