#!/usr/bin/env bash
# End-to-end backend agreement: greedy tokens of every backend equal the CPU backend's.
#
#   scripts/e2e-tokens.sh QTOOL MODEL OUTDIR BACKEND...      e.g. ... target/release/qtool \
#       out/smollm2-L4.gguf /tmp/e2e wgsl cuda
#
# For each scheme (w4a16, w8a8) it quantizes MODEL (RTN) to OUTDIR/<scheme> as
# compressed-tensors, whose packed Linears run through each backend's packed matmul (w8a8:
# int8 weights, int8 per-token activations quantized at run time), then runs `qtool generate`
# greedy (--temperature 0) for E2E_TOKENS new tokens on a fixed prompt with --backend cpu and
# with each BACKEND, and prints one line per (scheme, backend):
#
#   e2e w4a16 wgsl: MATCH 32/32
#   e2e w8a8 wgsl: MISMATCH at token 17 (cpu " the" vs wgsl " a")
#
# `qtool generate` prints text, not token ids, so the comparison is of the decoded text of the
# whole completion plus the generated-token count from its summary line (equal greedy text
# with the same count means equal tokens unless two different token sequences decode to the
# same text, which greedy decoding of the same model all but rules out). On a mismatch the
# first differing token is found by bisection: greedy generation is a prefix of itself, so
# generate with --max-new-tokens k for both sides until the shortest differing k is found; X
# and Y are the text that token adds on each side (index 0-based among generated tokens).
#
# A completion that stops before E2E_TOKENS (EOS) on both sides with equal text is SHORT, a
# failure: it tested fewer tokens than asked (pick another prompt).
#
# W8A8 caveat: activations are fake-quantized per token on the host and the int8 weights go
# through each backend's f32 dequantizing matmul, so a last-bit difference in a sum can flip an
# activation code, and flips avalanche through the layers. On full SmolLM2-135M w8a8 the CPU
# backend's own variants disagree (greedy, default prompt: ref and cpu-portable differ from
# cpu at token 0, wgsl at token 4; qtool kld on one checkpoint: ref vs cpu KLD 0.025, top-1
# 83%; cpu-portable 0.034, 87%; wgsl 0.044, 87%); on its first 4 blocks
# (smollm2_truncate.py --layers 4) they all match 32/32. w4a16 matches everywhere (KLD < 1e-6).
#
# Writes OUTDIR/e2e-tokens.json (one entry per case) and OUTDIR/logs/*. Goes through every
# case, then exits 1 if any case mismatched, was short or failed (2 on a usage error). No
# network.
#
# Environment (defaults): E2E_TOKENS=32, E2E_SCHEMES="w4a16 w8a8", E2E_PROMPT (a story
# request), E2E_CHAT=1 (0: the prompt as plain text), E2E_W4A16_GROUP=64 (SmolLM2's
# in_features 576 is not a multiple of compressed-tensors' default 128; empty: the scheme's
# own), E2E_QUANT_TIMEOUT=600, E2E_GEN_TIMEOUT=600 (seconds per command), E2E_BISECT=1.
set -u -o pipefail

usage() { echo "usage: $0 QTOOL MODEL OUTDIR BACKEND..." >&2; exit 2; }
[ $# -ge 4 ] || usage
QTOOL=$1 MODEL=$2 OUTDIR=$3
shift 3
BACKENDS=("$@")
case $QTOOL in */*) ;; *) QTOOL=$(command -v "$QTOOL" || echo "$QTOOL") ;; esac
[ -x "$QTOOL" ] || { echo "e2e: $QTOOL is not an executable" >&2; exit 2; }
[ -e "$MODEL" ] || { echo "e2e: $MODEL does not exist" >&2; exit 2; }
command -v timeout >/dev/null || { echo "e2e: needs timeout (coreutils)" >&2; exit 2; }

N=${E2E_TOKENS:-32}
SCHEMES=${E2E_SCHEMES:-w4a16 w8a8}
PROMPT=${E2E_PROMPT:-"Write a short story about a robot who learns to paint."}
CHAT=${E2E_CHAT:-1}
W4_GROUP=${E2E_W4A16_GROUP-64}
QT=${E2E_QUANT_TIMEOUT:-600}
GT=${E2E_GEN_TIMEOUT:-600}
BISECT=${E2E_BISECT:-1}

mkdir -p "$OUTDIR/logs" || exit 2
LOGS=$OUTDIR/logs
JSON=$OUTDIR/e2e-tokens.json
FAIL=0
ENTRIES=()

# JSON string literal of $1.
jstr() {
    local s=$1 i c
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//$'\t'/\\t}
    for i in 1 2 3 4 5 6 7 8 11 12 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31; do
        printf -v c "\\x$(printf %02x "$i")"
        [[ $s == *"$c"* ]] && s=${s//"$c"/$(printf '\\u%04x' "$i")}
    done
    printf '"%s"' "$s"
}

# gen SCHEME BACKEND K -> runs greedy generation of K tokens once (cached); sets GEN_OUT (text
# file), GEN_ERR (stderr file), GEN_RC, GEN_SECS.
gen() {
    local scheme=$1 backend=$2 k=$3
    GEN_OUT=$LOGS/$scheme-$backend-$k.out GEN_ERR=$LOGS/$scheme-$backend-$k.err
    if [ -f "$LOGS/$scheme-$backend-$k.rc" ]; then
        GEN_RC=$(cat "$LOGS/$scheme-$backend-$k.rc") GEN_SECS=$(cat "$LOGS/$scheme-$backend-$k.secs")
        return
    fi
    local args=(generate --model "$OUTDIR/$scheme" --prompt "$PROMPT" --max-new-tokens "$k"
        --temperature 0 --backend "$backend")
    [ "$CHAT" = 1 ] && args+=(--chat)
    local t0=$SECONDS
    timeout -k 10 "$GT" "$QTOOL" "${args[@]}" >"$GEN_OUT" 2>"$GEN_ERR"
    GEN_RC=$? GEN_SECS=$((SECONDS - t0))
    # A run that did not use the backend asked for is a failure, not a pass (variants such as
    # wgsl-tiled or cuda-simple report their family's name).
    if [ "$GEN_RC" = 0 ] && ! grep -q "(${backend%%-*} backend" "$GEN_ERR"; then
        echo "e2e: $scheme $backend: the summary line names another backend" >>"$GEN_ERR"
        GEN_RC=98
    fi
    echo "$GEN_RC" >"$LOGS/$scheme-$backend-$k.rc"
    echo "$GEN_SECS" >"$LOGS/$scheme-$backend-$k.secs"
}

# Generated-token count and finish reason from generate's summary line of stderr file $1.
count_of() { sed -n 's/.* \([0-9][0-9]*\) generated (\([^)]*\)).*/\1/p' "$1" | tail -1; }
reason_of() { sed -n 's/.* [0-9][0-9]* generated (\([^)]*\)).*/\1/p' "$1" | tail -1; }
tps_of() { sed -n 's/.*decode \([0-9.]*\) tok\/s.*/\1/p' "$1" | tail -1; }

# Last lines of stderr file $1 (the error), on one line.
err_of() { grep -v 'XDG_RUNTIME_DIR' "$1" | tail -3 | tr '\n' ' ' | cut -c1-400; }

record() { # scheme backend status line-for-humans json-fields
    echo "$4"
    ENTRIES+=("{\"scheme\": $(jstr "$1"), \"backend\": $(jstr "$2"), \"status\": $(jstr "$3"), $5}")
    [ "$3" = match ] || FAIL=1
}

START=$SECONDS
echo "e2e: $QTOOL on $MODEL, $N greedy tokens, schemes: $SCHEMES, backends: ${BACKENDS[*]}"
for scheme in $SCHEMES; do
    qargs=(quantize --model "$MODEL" --scheme "$scheme" --format compressed-tensors --out "$OUTDIR/$scheme" --force)
    [ "$scheme" = w4a16 ] && [ -n "$W4_GROUP" ] && qargs+=(--group-size "$W4_GROUP")
    rm -f "$LOGS/$scheme"-*
    t0=$SECONDS
    timeout -k 10 "$QT" "$QTOOL" "${qargs[@]}" >"$LOGS/quantize-$scheme.log" 2>&1
    rc=$?
    qsecs=$((SECONDS - t0))
    if [ $rc != 0 ]; then
        why="quantize failed (rc $rc$([ $rc = 124 ] && echo ", timeout ${QT}s")): $(err_of "$LOGS/quantize-$scheme.log")"
        for b in "${BACKENDS[@]}"; do
            record "$scheme" "$b" error "e2e $scheme $b: ERROR $why" "\"error\": $(jstr "$why")"
        done
        continue
    fi
    echo "e2e: quantized $scheme in ${qsecs}s (${qargs[*]:1})"

    gen "$scheme" cpu "$N"
    cpu_out=$GEN_OUT cpu_err=$GEN_ERR cpu_rc=$GEN_RC cpu_secs=$GEN_SECS
    cpu_n=$(count_of "$cpu_err")
    if [ "$cpu_rc" != 0 ] || [ -z "$cpu_n" ]; then
        why="cpu generate failed (rc $cpu_rc$([ "$cpu_rc" = 124 ] && echo ", timeout ${GT}s")): $(err_of "$cpu_err")"
        for b in "${BACKENDS[@]}"; do
            record "$scheme" "$b" error "e2e $scheme $b: ERROR $why" "\"error\": $(jstr "$why")"
        done
        continue
    fi
    cpu_text=$(cat "$cpu_out"; echo x) cpu_text=${cpu_text%x}
    echo "e2e: $scheme cpu: $cpu_n tokens ($(reason_of "$cpu_err")) in ${cpu_secs}s: $(jstr "$cpu_text")"

    for b in "${BACKENDS[@]}"; do
        gen "$scheme" "$b" "$N"
        b_out=$GEN_OUT b_err=$GEN_ERR b_rc=$GEN_RC b_secs=$GEN_SECS
        b_n=$(count_of "$b_err")
        common="\"tokens\": $N, \"compared\": \"text\", \"cpu_generated\": $cpu_n, \"cpu_secs\": $cpu_secs, \"backend_secs\": $b_secs, \"backend_decode_tok_s\": $(jstr "$(tps_of "$b_err")"), \"cpu_text\": $(jstr "$cpu_text")"
        if [ "$b_rc" != 0 ] || [ -z "$b_n" ]; then
            why="$b generate failed (rc $b_rc$([ "$b_rc" = 124 ] && echo ", timeout ${GT}s")): $(err_of "$b_err")"
            record "$scheme" "$b" error "e2e $scheme $b: ERROR $why" "$common, \"error\": $(jstr "$why")"
            continue
        fi
        b_text=$(cat "$b_out"; echo x) b_text=${b_text%x}
        if [ "$b_n" = "$cpu_n" ] && cmp -s "$cpu_out" "$b_out"; then
            if [ "$cpu_n" = "$N" ]; then
                record "$scheme" "$b" match "e2e $scheme $b: MATCH $N/$N" "$common, \"matched\": $N"
            else
                record "$scheme" "$b" short "e2e $scheme $b: SHORT $cpu_n/$N (equal, but both stopped early: $(reason_of "$cpu_err"); try another E2E_PROMPT)" "$common, \"matched\": $cpu_n"
            fi
            continue
        fi
        # Bisect the first differing token: lo = longest prefix known equal, hi = known different.
        lo=0 hi=$N idx="" x="" y=""
        if [ "$BISECT" = 1 ]; then
            while [ $((hi - lo)) -gt 1 ]; do
                mid=$(((lo + hi) / 2))
                gen "$scheme" cpu $mid; c_o=$GEN_OUT c_rc=$GEN_RC
                gen "$scheme" "$b" $mid; g_o=$GEN_OUT g_rc=$GEN_RC
                [ "$c_rc" = 0 ] && [ "$g_rc" = 0 ] || { lo=-1; break; }
                if cmp -s "$c_o" "$g_o"; then lo=$mid; else hi=$mid; fi
            done
            if [ $lo -ge 0 ]; then
                idx=$((hi - 1))
                pre=""
                [ $lo -gt 0 ] && { gen "$scheme" cpu $lo; pre=$(cat "$GEN_OUT"; echo x); pre=${pre%$'\n'x}; }
                gen "$scheme" cpu $hi; x=$(cat "$GEN_OUT"; echo x); x=${x%$'\n'x}
                gen "$scheme" "$b" $hi; y=$(cat "$GEN_OUT"; echo x); y=${y%$'\n'x}
                x=${x#"$pre"} y=${y#"$pre"}
            fi
        fi
        if [ -n "$idx" ]; then
            line="e2e $scheme $b: MISMATCH at token $idx (cpu $(jstr "$x") vs $b $(jstr "$y"))"
        else
            # Without bisection: the first differing character of the texts.
            i=0
            while [ $i -lt ${#cpu_text} ] && [ "${cpu_text:$i:1}" = "${b_text:$i:1}" ]; do i=$((i + 1)); done
            line="e2e $scheme $b: MISMATCH at character $i (cpu $(jstr "${cpu_text:$i:12}") vs $b $(jstr "${b_text:$i:12}")), $cpu_n vs $b_n tokens"
        fi
        record "$scheme" "$b" mismatch "$line" "$common, \"backend_generated\": $b_n, \"first_mismatch_token\": ${idx:-null}, \"cpu_token_text\": $(jstr "$x"), \"backend_token_text\": $(jstr "$y"), \"backend_text\": $(jstr "$b_text")"
    done
done

{
    printf '{\n  "qtool": %s,\n  "model": %s,\n  "prompt": %s,\n  "chat": %s,\n  "tokens": %s,\n  "w4a16_group_size": %s,\n  "secs": %s,\n  "ok": %s,\n  "cases": [\n' \
        "$(jstr "$QTOOL")" "$(jstr "$MODEL")" "$(jstr "$PROMPT")" "$([ "$CHAT" = 1 ] && echo true || echo false)" \
        "$N" "$(jstr "$W4_GROUP")" "$((SECONDS - START))" "$([ $FAIL = 0 ] && echo true || echo false)"
    for i in "${!ENTRIES[@]}"; do
        printf '    %s%s\n' "${ENTRIES[$i]}" "$([ "$i" -lt $((${#ENTRIES[@]} - 1)) ] && echo ,)"
    done
    printf '  ]\n}\n'
} >"$JSON"
echo "e2e: wrote $JSON ($((SECONDS - START))s); $([ $FAIL = 0 ] && echo "all match" || echo "FAILED")"
exit $FAIL
