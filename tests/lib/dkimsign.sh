# dkimsign.sh - DKIM test keys made with openssl, messages signed by the real
# signer (the opendkim binary in sign mode).
#
# Sourced by tests, or run as a command:
#   sh dkimsign.sh genkey TYPE KEYFILE
#   sh dkimsign.sh sign KEYFILE DOMAIN SELECTOR IN OUT [CANON] [ALGORITHM]
#   sh dkimsign.sh sign-exact KEYFILE DOMAIN SELECTOR IN OUT
# Functions:
#   dkimsign_have_signer        0 when opendkim and openssl are installed
#   dkimsign_genkey TYPE KEYFILE
#       TYPE: rsa2048, rsa1024, rsa512 (below RFC 8301's floor, for policy
#       tests) or ed25519.  Writes the private key (PEM) to KEYFILE and the
#       key record to KEYFILE.txt: "v=DKIM1; k=rsa; p=<base64 DER
#       SubjectPublicKeyInfo>" or "v=DKIM1; k=ed25519; p=<base64 of the 32
#       raw bytes>" (RFC 8463).
#   dkimsign_sign KEYFILE DOMAIN SELECTOR IN OUT [CANON] [ALGORITHM]
#       Signs message file IN with d=DOMAIN s=SELECTOR and writes OUT: the
#       DKIM-Signature field, then IN unchanged.  CANON defaults to
#       simple/simple (opendkim's default), ALGORITHM to rsa-sha256 for an
#       RSA key and ed25519-sha256 for an ed25519 key (rsa-sha1 can be asked
#       for).  The message's From must be in DOMAIN: opendkim signs only
#       mail from the domains it is configured for.  The signature field
#       gets IN's line ends (CRLF when IN's first line ends in CRLF).
#   dkimsign_sign_exact KEYFILE DOMAIN SELECTOR IN OUT
#       An openssl-only signer of the exact header bytes (see below).
#
# How: "opendkim -x sign.conf -t IN" with Mode s, Syslog no, Domain,
# Selector, KeyFile, RequireSafeKeys no (the test key is not in a safe
# directory), MinimumKeyBits 512 (else it refuses the 512-bit key), and
# Canonicalization / SignatureAlgorithm.  It prints a line naming the file,
# then the complete DKIM-Signature field; on failure it prints a reason (or
# nothing) and may still exit 0, so the output is checked, not the status.
# opendkim-testmsg is not used: it signs rsa-sha1 and prints a garbled b=.
# opendkim 2.11 signs ed25519-sha256 from a PEM ed25519 KeyFile when
# SignatureAlgorithm says ed25519-sha256, but with simple header
# canonicalization its signatures do not verify: it signs the field with
# "b=" at the end of the "h=" line and prints it with the (short) ed25519
# b= value folded onto a line of its own.  Use relaxed header
# canonicalization with ed25519 keys (RSA's b= never fits the h= line, so
# RSA signatures are printed as they were signed).
#
# Each call writes its config next to OUT (OUT.sign.conf) and removes it.
# Runs under dash or bash ("local" is in both).
# shellcheck disable=SC3043

dkimsign_have_signer()
{
	command -v opendkim >/dev/null 2>&1 &&
	    command -v openssl >/dev/null 2>&1
}

dkimsign_genkey()
{
	local type="$1" key="$2" bits

	case $type in
	rsa2048) bits=2048 ;;
	rsa1024) bits=1024 ;;
	rsa512) bits=512 ;;
	ed25519) bits= ;;
	*)
		echo "dkimsign_genkey: unknown key type '$type'" >&2
		return 1
		;;
	esac
	if [ -n "$bits" ]; then
		openssl genpkey -algorithm RSA \
		    -pkeyopt "rsa_keygen_bits:$bits" -out "$key" 2>/dev/null ||
		    return 1
		printf 'v=DKIM1; k=rsa; p=%s\n' "$(openssl pkey -in "$key" \
		    -pubout -outform DER 2>/dev/null | base64 -w 0)" \
		    > "$key.txt" || return 1
	else
		openssl genpkey -algorithm ed25519 -out "$key" 2>/dev/null ||
		    return 1
		# The DER SubjectPublicKeyInfo ends with the 32 raw key bytes.
		printf 'v=DKIM1; k=ed25519; p=%s\n' "$(openssl pkey -in "$key" \
		    -pubout -outform DER 2>/dev/null | tail -c 32 |
		    base64 -w 0)" > "$key.txt" || return 1
	fi
	grep -q 'p=..' "$key.txt" || {
		echo "dkimsign_genkey: no public key for $key" >&2
		return 1
	}
}

dkimsign_sign()
{
	local key="$1" domain="$2" selector="$3" in="$4" out="$5"
	local canon="${6:-simple/simple}" alg="${7:-}" conf sig crlf

	if [ -z "$alg" ]; then
		if openssl pkey -in "$key" -noout -text 2>/dev/null |
		    head -n 1 | grep -qi ed25519; then
			alg=ed25519-sha256
		else
			alg=rsa-sha256
		fi
	fi
	conf=$out.sign.conf
	cat > "$conf" <<EOF
Mode			s
Syslog			no
Domain			$domain
Selector		$selector
KeyFile			$key
RequireSafeKeys		no
MinimumKeyBits		512
Canonicalization	$canon
SignatureAlgorithm	$alg
EOF
	sig=$(opendkim -x "$conf" -t "$in" 2>&1)
	rm -f "$conf"
	# First line: "opendkim: FILE:"; then the field, folded with LF + TAB
	# (CRLF + TAB for a CRLF message, but the last line without the CR).
	sig=$(printf '%s\n' "$sig" | sed -n '2,$p' | tr -d '\r')
	case $sig in
	DKIM-Signature:*) ;;
	*)
		echo "dkimsign_sign: opendkim did not sign $in:" \
		    "$(printf '%s' "$sig" | head -n 3)" >&2
		return 1
		;;
	esac
	crlf=
	if head -n 1 "$in" | od -An -c | grep -q '\\r'; then
		crlf=1
	fi
	{
		if [ -n "$crlf" ]; then
			printf '%s\n' "$sig" | sed 's/$/\r/'
		else
			printf '%s\n' "$sig"
		fi
		cat "$in"
	} > "$out"
}

# dkimsign_sign_exact KEYFILE DOMAIN SELECTOR IN OUT
#	An independent signer for one case opendkim cannot sign: the exact
#	bytes of each header field.  opendkim (in test mode, and as a milter
#	without SMFIP_HDR_LEADSPC) hashes "Name: " + the value with its leading
#	white space removed, so "Subject:x" or "To:<TAB>x" are signed as
#	"Subject: x" and "To: x".  This one uses openssl only: rsa-sha256,
#	c=simple/simple, h= the From, To, Subject and Date fields present (the
#	last instance of each), IN must have CRLF line ends and end with one.
dkimsign_sign_exact()
{
	local key="$1" domain="$2" selector="$3" in="$4" out="$5" tmp h bh b sig
	local field i last

	tmp=$out.exact
	mkdir -p "$tmp" || return 1
	# Split: header fields one per file (exact bytes, folds kept), and
	# the body canonicalized "simple" (trailing empty lines dropped; an
	# empty body is one CRLF).
	awk -v dir="$tmp" '
	BEGIN { inhdr = 1; n = 0; empties = 0; any = 0 }
	inhdr && $0 == "\r" { inhdr = 0; next }
	# (awk keeps a file open once written: ">" truncates only at first.)
	inhdr && /^[ \t]/ { printf "%s\n", $0 > (dir "/f" n); next }
	inhdr {
		n++
		name = tolower($0); sub(/[ \t]*:.*/, "", name)
		print name > (dir "/n" n)
		printf "%s\n", $0 > (dir "/f" n)
		next
	}
	{
		if ($0 == "\r") { empties++; next }
		for (; empties > 0; empties--)
			printf "\r\n" > (dir "/body")
		printf "%s\n", $0 > (dir "/body"); any = 1
	}
	END {
		if (!any) printf "\r\n" > (dir "/body")
		print n > (dir "/count")
	}' "$in" || return 1
	bh=$(openssl dgst -sha256 -binary "$tmp/body" | base64 -w 0)
	h=
	: > "$tmp/data"
	for field in from to subject date; do
		last=
		i=$(cat "$tmp/count")
		while [ "$i" -gt 0 ]; do
			if [ "$(cat "$tmp/n$i")" = "$field" ]; then
				last=$i
				break
			fi
			i=$((i - 1))
		done
		[ -n "$last" ] || continue
		cat "$tmp/f$last" >> "$tmp/data"
		h=${h:+$h:}$field
	done
	sig="DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=$domain;"
	sig="$sig s=$selector; h=$h; bh=$bh; b="
	printf '%s' "$sig" >> "$tmp/data"
	b=$(openssl dgst -sha256 -sign "$key" "$tmp/data" | base64 -w 0) ||
	    return 1
	{
		printf '%s%s\r\n' "$sig" "$b"
		cat "$in"
	} > "$out"
	rm -rf "$tmp"
}

# Run as a command.
case ${0##*/} in
dkimsign.sh)
	set -u
	cmd=${1:-}
	[ $# -gt 0 ] && shift
	case $cmd in
	genkey) dkimsign_genkey "$@" ;;
	sign) dkimsign_sign "$@" ;;
	sign-exact) dkimsign_sign_exact "$@" ;;
	have) dkimsign_have_signer ;;
	*)
		echo "usage: dkimsign.sh genkey TYPE KEYFILE |" \
		    "sign KEYFILE DOMAIN SELECTOR IN OUT [CANON] [ALG] |" \
		    "sign-exact KEYFILE DOMAIN SELECTOR IN OUT | have" >&2
		exit 2
		;;
	esac
	exit $?
	;;
esac
