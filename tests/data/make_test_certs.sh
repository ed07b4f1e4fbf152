#!/usr/bin/env bash
# Makes a throwaway test CA and a server certificate for localhost / 127.0.0.1 / ::1 signed by
# it (plus one for wrong.example, to test host name checks), with the openssl CLI. Used by the
# integration tests' TLS fake upstream. Writes into the BUILD directory (never the source
# tree): no key is ever committed.
# Usage: make_test_certs.sh OUTDIR
set -euo pipefail
out=${1:?usage: make_test_certs.sh OUTDIR}
mkdir -p "$out"
cd "$out"
if [ -s server.pem ] && [ -s server.key ] && [ -s wrong-host.pem ] && [ -s ca.pem ]; then
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

# Install atomically-ish: the key and certificate first, the CA (what callers check) last.
mv "$tmp/server.key" server.key
mv "$tmp/server.pem" server.pem
mv "$tmp/wrong-host.key" wrong-host.key
mv "$tmp/wrong-host.pem" wrong-host.pem
mv "$tmp/ca.pem" ca.pem
