# Sourced by the scripts that measure the benchmark database bench/run.sh left behind, with N
# set to its size: sets URL and exports the key bench/run.sh sealed the directory's
# confidential addresses with (Haven refuses to serve a database with a key that cannot open
# them), or stops when there is no such database yet.
URL="postgres://postgres@127.0.0.1:5432/haven_bench_$N"
KEY_FILE="bench/data/$N/data.key"
if [ ! -s "bench/data/$N/services.jsonl" ] || [ ! -s "$KEY_FILE" ]; then
  echo "run bench/run.sh $N first: it makes the data, the database and its key" >&2
  exit 1
fi
export HAVEN_DATA_KEY="$(cat "$KEY_FILE")"
