# SPDX-License-Identifier: GPL-2.0-only
#
# What the TLS tests share (63, 64); source after lib.sh.

# tls_certs DIR CN SAN NAME: a throwaway CA (DIR/ca.pem, made once) and a
# server certificate DIR/NAME.pem with its key DIR/NAME.key, signed by it,
# for CN with subjectAltName SAN ("DNS:ims.local,IP:10.0.1.1"). EC P-256
# keys, valid two days: nothing of them outlives the test's TMP.
tls_certs() {
	local dir=$1 cn=$2 san=$3 name=$4
	if [ ! -r $dir/ca.pem ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout $dir/ca.key -out $dir/ca.pem -days 2 -subj "/CN=sluice test CA" \
			>/dev/null 2>&1 || return 1
	fi
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout $dir/$name.key -out $dir/$name.csr -subj "/CN=$cn" >/dev/null 2>&1 &&
	printf 'subjectAltName=%s\n' "$san" >$dir/$name.ext &&
	openssl x509 -req -in $dir/$name.csr -CA $dir/ca.pem -CAkey $dir/ca.key \
		-CAcreateserial -out $dir/$name.pem -days 2 -extfile $dir/$name.ext >/dev/null 2>&1
}

# tls_subject NS ADDRESS:PORT: the subject of the certificate a TLS server
# there presents (openssl s_client in NS), e.g. "CN = ims.local".
tls_subject() {
	in_ns $1 timeout 5 openssl s_client -connect $2 </dev/null 2>/dev/null |
		sed -n 's/^subject=//p'
}
