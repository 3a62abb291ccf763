# Shell smoke test: run by busybox sh on the host Linux and inside Tine; the outputs of each
# section must be equal. Runs in $WORK (an empty scratch directory); prints "== <section>"
# before each section. Nothing here may depend on the machine (time, pids, /proc values).

echo "== arithmetic"
echo $((6*7)) $((2**10)) $((17 % 5)) $((-7 / 2))
i=0; while [ $i -lt 50 ]; do i=$((i+1)); done; echo $i

echo "== pipelines"
seq 1 10000 | sort -rn | head -3
seq 1 5000 | grep 7 | wc -l
seq 1 300 | tr '\n' ' ' | wc -c
yes tine | head -4

echo "== redirections"
echo a > f; echo b >> f; cat f
wc -c < f
tr a-z A-Z < f | cat
ls does-not-exist 2>/dev/null || echo "ls failed as it should"
{ echo out; echo err >&2; } 2>&1 | sort
exec 3> g; echo via-fd-3 >&3; exec 3>&-; cat g

echo "== here-documents"
name=tine
cat <<EOT
hello $name
  indented $((1+1))
EOT
cat <<'EOT'
literal $name
EOT
tr a-z A-Z <<-EOT
	tabs are stripped
	EOT

echo "== substitution"
x=$(echo hi | tr h H); echo "$x"
echo "$(seq 3 | tr '\n' ' ')"
echo `echo back` ticks
v=abcdef; echo ${#v} ${v%def} ${v#ab} ${v:-unset} ${undefined:-default}

echo "== subshells"
(cd /; pwd)
pwd | sed "s|$WORK|WORK|"
(exit 3); echo "status $?"
( a=inner ); echo "a=${a:-unset}"
false || echo "or ran"; true && echo "and ran"

echo "== background-jobs"
for i in $(seq 1 200); do (echo $i > job.$i) & done
wait
cat job.* | sort -n | tail -1
ls job.* | wc -l
rm job.*

echo "== functions-and-case"
greet() { echo "hello, $1"; return 7; }
greet world; echo "returned $?"
for w in apple banana cherry; do
    case $w in
        a*) echo "$w starts with a";;
        *an*) echo "$w has an";;
        *) echo "$w is other";;
    esac
done
set -- one two three; echo "$# args, second $2"; shift; echo "$@"
trap 'echo exit trap ran' EXIT

echo "== files"
mkdir -p a/b/c; touch a/b/c/f; echo data > a/b/c/g
find . -type f | sort
ln -s a/b l; ls l/
ln a/b/c/g hard; stat -c '%h %s' hard
mv a z; ls
cp -r z copy; find copy | sort
rm -r z copy l hard; ls -A
chmod 640 f; stat -c '%a %F' f
mkfifo pipe; stat -c '%F' pipe; rm pipe

echo "== archives"
mkdir d; seq 1 1000 > d/a; seq 1 5000 | md5sum > d/b
tar cf t.tar d
gzip -9 t.tar; ls t.tar.gz
gunzip t.tar.gz; mkdir x; tar xf t.tar -C x
md5sum x/d/a x/d/b
cmp d/a x/d/a && echo "round trip intact"
rm -r d x t.tar

echo "== devices"
dd if=/dev/zero bs=1M count=8 2>/dev/null | md5sum
dd if=/dev/urandom bs=1M count=8 2>/dev/null | md5sum | grep -c '^[0-9a-f]\{32\} '
head -c 100 /dev/zero | wc -c
echo discard > /dev/null; echo "null took it"

echo "== text-tools"
printf '%s\n' c b a | sort
echo hello | sed 's/l/L/g'
echo 'x y z' | awk '{print $2}'
seq 10 | awk '{s+=$1} END {print s}'
printf '%05d|%-4s|%x\n' 42 ab 255
echo "a:b:c" | cut -d: -f2
seq 5 > p; seq 5 > q; cmp p q && echo same; diff p q; echo "diff $?"
rm f g p q

echo "== system"
# Commands whose full output depends on the machine: their shape must match.
uname -s
uname -a | awk '{print $1, NF >= 5}'
grep -c '^MemTotal:' /proc/meminfo
free | head -1 | awk '{print $1, $2, $3}'
ps -o pid,comm | head -1 | awk '{print $1, $2}'
top -b -n 1 | grep -c '^Mem:'
mount | grep -c ' on /proc type proc '
ls -l / | head -1 | awk '{print $1}'
find /etc -maxdepth 1 -type f -name passwd | wc -l

echo "== bash"
bash -c 'arr=(zero one two); echo "${arr[1]} ${#arr[@]}"; declare -A m; m[k]=v; echo "${m[k]}"
f() { local x=$1; echo $((x*x)); }; f 12
for ((i=0;i<3;i++)); do printf "%d " $i; done; echo
[[ "abc" == a* ]] && echo glob-match
s="hello world"; echo "${s^^} ${s/world/tine}"'
# The EXIT trap is set after the jobs: a job's child killed before it execs would run an
# inherited EXIT trap, and whether it gets that far is a race.
bash -c 'trap "echo trapped USR1" USR1; kill -USR1 $$
sleep 0.2 & wait $!; echo "waited $?"
sleep 5 & pid=$!; sleep 0.3; kill %1; wait $pid 2>/dev/null; echo "killed job status $?"
jobs; echo "jobs listed"; trap "echo bye from EXIT" EXIT' 2>/dev/null
