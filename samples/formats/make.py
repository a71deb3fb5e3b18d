"""Writes the files in samples/formats/ (and a few in samples/bad/) the way the usual tools
write them: Python's csv module (CRLF by default), pandas, pyarrow, gzip, the zstd CLI.
Run from the repository root: python3 samples/formats/make.py (needs pandas, pyarrow, zstd)."""

import csv
import gzip
import io
import json
import os
import random
import shutil
import subprocess

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

OUT = "samples/formats"
BAD = "samples/bad"
rng = random.Random(16)
MODELS = ["tiny-1b", "chat-8b", "base-8b"]
WORDS = "the cat sat on a mat while dogs bark at night and rain falls softly".split()


def sentence(i):
    words = [rng.choice(WORDS) for _ in range(rng.randint(4, 12))]
    return f"Sample {i}: " + " ".join(words) + "."


def rows(n):
    out = []
    for i in range(n):
        text = sentence(i)
        if i % 10 == 3:
            text += '\nA second line, with "quotes", commas; and semicolons.'
        out.append({"text": text, "score": round(rng.random(), 3), "model": MODELS[i % 3]})
    return out


def write_csv(path, records, **fmt):
    with open(path, "w", newline="", encoding=fmt.pop("encoding", "utf-8")) as f:
        w = csv.writer(f, **fmt)
        w.writerow(records[0].keys())
        for r in records:
            w.writerow(r.values())


os.makedirs(OUT, exist_ok=True)
# Python's csv module, default dialect: CRLF line ends, quotes only where needed.
write_csv(f"{OUT}/python_crlf.csv", rows(300))
# Excel "CSV UTF-8" in a European locale: BOM, semicolons, CRLF, decimal commas.
euro = [dict(r, score=str(r["score"]).replace(".", ",")) for r in rows(40)]
write_csv(f"{OUT}/excel_semicolon.csv", euro, delimiter=";", encoding="utf-8-sig")
# Pipes.
write_csv(f"{OUT}/pipes.csv", rows(20), delimiter="|")
# pandas: TSV and a zstd-compressed CSV.
frame = pd.DataFrame(rows(60))
frame.to_csv(f"{OUT}/pandas.tsv", sep="\t", index=False)
frame.to_csv(f"{OUT}/pandas.csv", index=False)
subprocess.run(["zstd", "-q", "-f", "--rm", f"{OUT}/pandas.csv"], check=True)

# A numeric column with stray strings, and one that is mostly text.
stray = rows(30)
for i, r in enumerate(stray):
    r["rating"] = "high" if i == 4 else ("NA" if i == 9 else str(i % 5))
    r["notes"] = str(i) if i % 2 else f"note {i}"
stray[7]["score"] = "n/a"
stray[12]["score"] = "high"
write_csv(f"{BAD}/stray_strings.csv", stray)
with open(f"{BAD}/stray_strings.jsonl", "w") as f:
    for i, r in enumerate(rows(12)):
        if i == 5:
            r["score"] = "high"
        f.write(json.dumps(r) + "\n")

# Chat shapes: OpenAI string and list-of-parts content with tool calls, Anthropic blocks.
chats = [
    {"id": 1, "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."}]},
    {"id": 2, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "4C, rain"},
        {"role": "assistant", "content": [{"type": "text", "text": "4C and rain in Oslo."}]}]},
    {"id": 3, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Find a Rust CSV crate."}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Searching."},
            {"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": "rust csv"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
            "content": [{"type": "text", "text": "csv 1.3 by BurntSushi"}]}]},
        {"role": "assistant", "content": "Use the csv crate."}]},
]
with open(f"{OUT}/chat_shapes.jsonl", "w") as f:
    for c in chats:
        f.write(json.dumps(c) + "\n")

# ShareGPT, as one JSON array (what many Hugging Face chat sets ship).
share = [{"id": f"s{i}", "conversations": [
    {"from": "human", "value": f"Question {i}: what is {i} + {i}?"},
    {"from": "gpt", "value": f"{i} + {i} = {2 * i}."}]} for i in range(6)]
with open(f"{OUT}/sharegpt.json", "w") as f:
    json.dump(share, f, indent=2)

# hh-rlhf: transcripts in one string, gzip-compressed JSON lines.
with io.TextIOWrapper(gzip.GzipFile(f"{OUT}/hh_transcripts.jsonl.gz", "wb", mtime=0)) as f:
    for i in range(8):
        prompt = f"\n\nHuman: How do I {rng.choice(WORDS)} a {rng.choice(WORDS)}?"
        f.write(json.dumps({
            "chosen": prompt + f"\n\nAssistant: Carefully, step {i}.\n\nHuman: Thanks.\n\nAssistant: Welcome.",
            "rejected": prompt + "\n\nAssistant: I won't help.",
        }) + "\n")

# A folder of Parquet parts, hive-partitioned by model, as pyarrow / Spark write it.
shutil.rmtree(f"{OUT}/parquet_parts", ignore_errors=True)
table = pa.Table.from_pylist(rows(45))
ds.write_dataset(table, f"{OUT}/parquet_parts", format="parquet", partitioning=["model"],
                 partitioning_flavor="hive", basename_template="part-{i}.parquet")
open(f"{OUT}/parquet_parts/_SUCCESS", "w").close()

# JSON lines parts for a glob: different columns, a bad line in the second.
os.makedirs(f"{OUT}/jsonl_parts", exist_ok=True)
with open(f"{OUT}/jsonl_parts/part-00000.jsonl", "w") as f:
    for r in rows(10):
        f.write(json.dumps(r) + "\n")
with open(f"{OUT}/jsonl_parts/part-00001.jsonl", "w") as f:
    for i, r in enumerate(rows(10)):
        r["temperature"] = 0.7
        del r["model"]
        f.write(json.dumps(r) + "\n" if i != 3 else '{"text": "broken\n')
