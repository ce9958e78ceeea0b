#!/usr/bin/env python3
"""Write a smaller copy of a llama-architecture GGUF (made for SmolLM2-135M) for end-to-end
tests that have to travel light: the first N transformer blocks, token_embd (optionally
re-quantized, e.g. Q8_0 -> Q4_1), output_norm (and output.weight when the model has one), and
every metadata key copied as stored except `<arch>.block_count`, which becomes N.

    scripts/smollm2_truncate.py IN.gguf OUT.gguf --layers N [--embd-type Q4_1|Q4_0|Q8_0|keep]
    scripts/smollm2_truncate.py IN.gguf OUT.gguf --blocks 0,1,28,29 [...]

--blocks keeps any blocks, renumbered 0.. in the order given (keeping the last blocks gives
varied tokens where the first N alone repeat a few; its logits are flatter, so W8A8 greedy
tokens are more sensitive to rounding there).

Needs the `gguf` Python package (gguf-py, e.g. /work/pyref/bin/python). The output is a
derived test artifact: write it under a git-ignored folder (out/, /work/main/carry/), never
commit it. The truncated model is no longer a useful language model; it is a deterministic
fixture whose greedy tokens every backend must agree on.

Sizes for SmolLM2-135M-Instruct.Q4_1 (Q4_1 blocks ~2.21 MB each; token_embd 49152x576 is
30.1 MB as Q8_0, 17.7 MB as Q4_1, 15.9 MB as Q4_0; tokenizer metadata ~1.8 MB):
    --layers 4 --embd-type Q4_1  28.3 MB      --layers 6 --embd-type Q4_0  31.0 MB
    --layers 5 --embd-type Q4_1  30.6 MB      --layers 8 --embd-type Q4_1  37.2 MB
--layers 30 (--embd-type keep) rewrites the input byte for byte, a check of the copy.
"""

import argparse
import os
import re
import sys

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as QT
    from gguf import GGUFValueType as VT
except ImportError:  # pragma: no cover
    sys.exit("smollm2_truncate.py: needs the gguf package (pip install gguf, or /work/pyref/bin/python)")

# Keys GGUFWriter writes itself (or that describe the old file's layout).
SKIP_KEYS = {"GGUF.version", "GGUF.tensor_count", "GGUF.kv_count", "general.architecture", "general.alignment"}
BLK = re.compile(r"^blk\.(\d+)\.")


def field_value(f):
    """A reader field as (value, vtype, sub_type) for GGUFWriter.add_key_value, strings as raw
    bytes so nothing is re-encoded."""
    vtype = f.types[0]
    if vtype == VT.ARRAY:
        sub = f.types[-1]
        if len(f.types) != 2:
            raise SystemExit(f"{f.name}: nested arrays are not supported")
        if sub == VT.STRING:
            return [bytes(f.parts[i]) for i in f.data], vtype, sub
        # Each element is one part holding a single scalar.
        return [f.parts[i][0].item() for i in f.data], vtype, sub
    if vtype == VT.STRING:
        return bytes(f.parts[f.data[0]]), vtype, None
    return f.parts[f.data[0]][0].item(), vtype, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    sel = ap.add_mutually_exclusive_group(required=True)
    sel.add_argument("--layers", type=int, help="keep blocks 0..N-1")
    sel.add_argument("--blocks", help="keep these blocks, e.g. 0,1,28,29 (renumbered 0.. in this order)")
    ap.add_argument("--embd-type", default="keep", help="token_embd type: keep (as stored), Q4_1, Q4_0, Q8_0")
    ap.add_argument("--force", action="store_true", help="replace OUT if it exists")
    a = ap.parse_args()

    if os.path.exists(a.output) and not a.force:
        sys.exit(f"{a.output} exists (use --force)")
    r = gguf.GGUFReader(a.input)
    arch = r.fields["general.architecture"].contents()
    bc_key = f"{arch}.block_count"
    n_old = int(r.fields[bc_key].contents())
    if a.blocks is not None:
        keep = [int(b) for b in a.blocks.split(",") if b.strip()]
    else:
        if not 1 <= a.layers <= n_old:
            sys.exit(f"--layers {a.layers}: the model has {n_old} blocks")
        keep = list(range(a.layers))
    if not keep or len(set(keep)) != len(keep) or not all(0 <= b < n_old for b in keep):
        sys.exit(f"blocks {keep}: need distinct indices in 0..{n_old - 1}")
    new_index = {old: new for new, old in enumerate(keep)}
    a.layers = len(keep)
    if "general.alignment" in r.fields:
        align = int(r.fields["general.alignment"].contents())
    else:
        align = None

    tmp = a.output + ".tmp"
    w = gguf.GGUFWriter(tmp, arch)
    if align is not None:
        w.add_custom_alignment(align)
    for name, f in r.fields.items():
        if name in SKIP_KEYS:
            continue
        if name == bc_key:
            w.add_key_value(name, a.layers, f.types[0])
            continue
        val, vtype, sub = field_value(f)
        w.add_key_value(name, val, vtype, sub)

    kept = 0
    renamed = {}
    tensors = list(r.tensors)
    if a.blocks is not None:  # blocks in the order asked for, then the rest as stored
        order = {b: i for i, b in enumerate(keep)}
        tensors.sort(key=lambda t: order.get(int(BLK.match(t.name).group(1)), -1) if BLK.match(t.name) else -1)
    for t in tensors:
        m = BLK.match(t.name)
        name = t.name
        if m:
            if int(m.group(1)) not in new_index:
                continue
            name = f"blk.{new_index[int(m.group(1))]}.{t.name[m.end():]}"
            renamed[name] = t.name
        data, qtype = np.asarray(t.data), t.tensor_type
        if t.name == "token_embd.weight" and a.embd_type.lower() != "keep":
            new = QT[a.embd_type.upper()]
            if new != qtype:
                dense = gguf.quants.dequantize(data, qtype).astype(np.float32)
                data = gguf.quants.quantize(dense, new)
                print(f"token_embd.weight: {qtype.name} -> {new.name}", file=sys.stderr)
                qtype = new
        # Quantized (and bf16) data comes as uint8 rows of bytes; raw_dtype turns the byte
        # shape back into the element shape. f32/f16 come as their own numpy dtype.
        w.add_tensor(name, data, raw_dtype=qtype)
        kept += 1

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, a.output)

    # Read it back: metadata as in the input (block_count aside), tensors as chosen.
    r2 = gguf.GGUFReader(a.output)
    for name, f in r.fields.items():
        if name in SKIP_KEYS - {"general.architecture"}:
            continue
        g = r2.fields.get(name)
        if g is None:
            sys.exit(f"check: {name} is missing from {a.output}")
        want = a.layers if name == bc_key else field_value(f)[0]
        if field_value(g)[0] != want or g.types != f.types:
            sys.exit(f"check: {name} differs in {a.output}")
    names = [t.name for t in r2.tensors]
    assert len(names) == kept, (len(names), kept)
    src = {t.name: t for t in r.tensors}
    for t in r2.tensors:
        if t.name != "token_embd.weight":
            s = src[renamed.get(t.name, t.name)]
            assert t.tensor_type == s.tensor_type and np.array_equal(t.data, s.data), t.name
    size = os.path.getsize(a.output)
    print(f"{a.output}: {size} bytes ({size / 1e6:.1f} MB, {size / 2**20:.1f} MiB), "
          f"{a.layers}/{n_old} blocks{' ' + str(keep) if a.blocks else ''}, {kept} tensors, token_embd {r2.tensors[names.index('token_embd.weight')].tensor_type.name}")


if __name__ == "__main__":
    main()
