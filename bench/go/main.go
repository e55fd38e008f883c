// Command gobench runs libbitcask's Go binding and pure-Go key-value stores
// (pogreb, prologic/bitcask, rosedb, nutsdb) through the same workloads in one
// process, and reports each figure with its ratio to the best peer of the
// same run. See docs/BENCH.md, "Go binding against pure-Go stores".
//
//	cargo build --release            # the library the binding links
//	cd bench/go && go run . -n 300000 -runs 3
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	keyLen   = 16
	valueLen = 100
	// A record of libbitcask's format for such a pair (32-byte header): the
	// size of one durable write in the disk-floor measurement.
	recordLen = 32 + keyLen + valueLen
	// One get in sampleEvery is timed (a clock read costs about as much as a
	// hot get).
	sampleEvery = 64
	warmupGets  = 100_000
)

type config struct {
	n          int
	runs       int
	threads    []int
	syncWrites int
	stores     []kind
	groups     map[string]bool
	dir        string
	// ownDir: dir was made by this run, which removes it at the end.
	ownDir   bool
	jsonPath string
}

func main() {
	if name := os.Getenv(childEnv); name != "" {
		childMain(name)
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobench:", err)
		os.Exit(2)
	}
	res := newResults()
	for run := 0; run < cfg.runs; run++ {
		// Rotate the order so that no store always runs first or last.
		order := slices.Clone(cfg.stores)
		for i := 0; i < run%len(order); i++ {
			order = append(order[1:], order[0])
		}
		if cfg.groups["read"] {
			runReads(cfg, order, run, res)
		}
		if cfg.groups["sync"] {
			runSync(cfg, order, run, res)
		}
	}
	res.report(cfg)
	if cfg.ownDir {
		os.RemoveAll(cfg.dir)
	}
	if cfg.jsonPath != "" {
		if err := res.writeJSON(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "gobench:", err)
			os.Exit(1)
		}
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("gobench", flag.ContinueOnError)
	n := fs.Int("n", 300_000, "keys loaded before the reads")
	runs := fs.Int("runs", 3, "repetitions; every figure is the median over the runs")
	threads := fs.String("threads", "1,2", "goroutine counts of readrandom")
	syncWrites := fs.Int("sync-writes", 6000, "durable puts of fillsync (1 writer)")
	stores := fs.String("stores", "", "comma-separated subset of: "+storeNames())
	only := fs.String("only", "read,sync", "workload groups: read, sync")
	dir := fs.String("dir", "", "where the stores are created and deleted (default: a fresh directory in $TMPDIR)")
	jsonPath := fs.String("json", "", "also write one JSON line per figure to this file")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	cfg := config{n: *n, runs: *runs, syncWrites: *syncWrites, jsonPath: *jsonPath, groups: map[string]bool{}}
	if cfg.n < 1 || cfg.runs < 1 || cfg.syncWrites < 1 {
		return cfg, fmt.Errorf("-n, -runs and -sync-writes must be at least 1")
	}
	for _, t := range strings.Split(*threads, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil || v < 1 {
			return cfg, fmt.Errorf("-threads: %q is not a goroutine count", t)
		}
		cfg.threads = append(cfg.threads, v)
	}
	for _, g := range strings.Split(*only, ",") {
		g = strings.TrimSpace(g)
		if g != "read" && g != "sync" {
			return cfg, fmt.Errorf("-only: unknown group %q (read, sync)", g)
		}
		cfg.groups[g] = true
	}
	if *stores == "" {
		cfg.stores = kinds
	} else {
		for _, name := range strings.Split(*stores, ",") {
			k, err := kindByName(strings.TrimSpace(name))
			if err != nil {
				return cfg, fmt.Errorf("-stores: %v (known: %s)", err, storeNames())
			}
			cfg.stores = append(cfg.stores, k)
		}
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "gobench-")
		if err != nil {
			return cfg, err
		}
		cfg.dir, cfg.ownDir = d, true
	} else {
		cfg.dir = *dir
	}
	return cfg, nil
}

func storeNames() string {
	var names []string
	for _, k := range kinds {
		names = append(names, k.name)
	}
	return strings.Join(names, ",")
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "gobench: %s: %v\n", what, err)
		os.Exit(1)
	}
}

// mix64 is splitmix64's finalizer, as in the Rust benchmark.
func mix64(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// key writes key i of the key space seed into k: 16 pseudo-random bytes, so
// no key array has to be held.
func key(k []byte, seed, i uint64) {
	a := mix64(seed*0x100000001B3 ^ i)
	binary.LittleEndian.PutUint64(k, a)
	binary.LittleEndian.PutUint64(k[8:], mix64(a^0xA5A5A5A5A5A5A5A5))
}

const (
	seedPresent = 0xB17CA5C0
	seedSync    = 0x51AC
)

// value fills v (valueLen bytes) for key k: the key's first 8 bytes (so a get
// can check it got the right value), then incompressible filler.
func value(v, k []byte) {
	copy(v, k[:8])
	x := binary.LittleEndian.Uint64(k)
	for off := 8; off < len(v); off += 8 {
		x = mix64(x)
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], x)
		copy(v[off:], b[:])
	}
}

type rng uint64

func (r *rng) below(n uint64) uint64 {
	*r += 0x9E3779B97F4A7C15
	hi, _ := bits.Mul64(mix64(uint64(*r)), n)
	return hi
}

func freshDir(path string) {
	must(os.RemoveAll(path), "remove "+path)
	must(os.MkdirAll(path, 0o755), "create "+path)
}

// readSlices: each goroutine's cfg.n gets of a readrandom figure are split
// into this many slices, and the stores take turns slice by slice, so that a
// change in the machine's load (it is shared) falls on every store alike.
const readSlices = 10

// runReads runs readrandom with each goroutine count: every goroutine does
// cfg.n gets of random present keys, and the figure is the total over the
// goroutines. Each store lives in a child process of its own (its heap, and so
// its garbage collector's work, apart from the others'), all loaded before the
// first read; the parent has them read in turns, slice by slice.
func runReads(cfg config, order []kind, run int, res *results) {
	children := make([]*child, len(order))
	for i, k := range order {
		logf("[run %d/%d] %s: load %d keys", run+1, cfg.runs, k.name, cfg.n)
		c, loadRate := startChild(cfg, k, run)
		children[i] = c
		res.add(run, "load", "load (no sync), 1 goroutine", k.name, loadRate, nil)
	}
	per := max(cfg.n/readSlices, 1)
	for _, g := range cfg.threads {
		logf("[run %d/%d] readrandom, %d goroutine%s", run+1, cfg.runs, g, plural(g))
		spent := make([]time.Duration, len(order))
		lats := make([][]time.Duration, len(order))
		for slice := 0; slice < readSlices; slice++ {
			for j := range order {
				i := (j + slice) % len(order)
				d, l := children[i].read(g, per, uint64(run)<<16|uint64(slice)<<8)
				spent[i] += d
				lats[i] = append(lats[i], l...)
			}
		}
		id := fmt.Sprintf("readrandom_%dg", g)
		for i, k := range order {
			ops := float64(g * per * readSlices)
			res.add(run, id, fmt.Sprintf("readrandom, %d goroutine%s", g, plural(g)), k.name, ops/spent[i].Seconds(), lats[i])
		}
	}
	for _, c := range children {
		c.close()
	}
}

// childEnv names the store a child process serves; see childMain.
const childEnv = "GOBENCH_CHILD"

type child struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
}

type readReply struct {
	Ns  int64   `json:"ns"`
	Lat []int64 `json:"lat"`
	Err string  `json:"err"`
}

// startChild starts this program as the child that loads and serves k; it
// returns once the child has loaded, with its load rate.
func startChild(cfg config, k kind, run int) (*child, float64) {
	self, err := os.Executable()
	must(err, "find this program")
	dir := filepath.Join(cfg.dir, k.name+"-read")
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+k.name,
		fmt.Sprintf("GOBENCH_DIR=%s", dir), fmt.Sprintf("GOBENCH_N=%d", cfg.n), fmt.Sprintf("GOBENCH_SEED=%d", run))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	must(err, "child stdin")
	outPipe, err := cmd.StdoutPipe()
	must(err, "child stdout")
	must(cmd.Start(), "start child for "+k.name)
	c := &child{name: k.name, cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	c.out.Buffer(make([]byte, 1<<20), 64<<20)
	var ready struct {
		LoadRate float64 `json:"load_rate"`
		Err      string  `json:"err"`
	}
	c.reply(&ready)
	if ready.Err != "" {
		must(fmt.Errorf("%s", ready.Err), k.name)
	}
	return c, ready.LoadRate
}

func (c *child) reply(v any) {
	if !c.out.Scan() {
		must(fmt.Errorf("child exited: %v", c.out.Err()), c.name)
	}
	must(json.Unmarshal(c.out.Bytes(), v), c.name+": child's reply")
}

// read has the child run g goroutines of ops gets each.
func (c *child) read(g, ops int, seed uint64) (time.Duration, []time.Duration) {
	_, err := fmt.Fprintf(c.in, "read %d %d %d\n", g, ops, seed)
	must(err, c.name+": write to child")
	var r readReply
	c.reply(&r)
	if r.Err != "" {
		must(fmt.Errorf("%s", r.Err), c.name)
	}
	lat := make([]time.Duration, len(r.Lat))
	for i, ns := range r.Lat {
		lat[i] = time.Duration(ns)
	}
	return time.Duration(r.Ns), lat
}

func (c *child) close() {
	c.in.Close()
	must(c.cmd.Wait(), c.name+": child")
}

// childMain serves one store for runReads: it loads GOBENCH_N keys into a
// fresh store in GOBENCH_DIR, does the warm-up gets, answers one JSON line,
// then runs each "read G OPS SEED" line from its standard input and answers
// with the time and sampled latencies, until its input ends.
func childMain(name string) {
	out := bufio.NewWriter(os.Stdout)
	answer := func(v any) {
		b, err := json.Marshal(v)
		must(err, "encode reply")
		out.Write(append(b, '\n'))
		out.Flush()
	}
	k, err := kindByName(name)
	must(err, "child")
	dir := os.Getenv("GOBENCH_DIR")
	n, err := strconv.Atoi(os.Getenv("GOBENCH_N"))
	must(err, "GOBENCH_N")
	seed, err := strconv.ParseUint(os.Getenv("GOBENCH_SEED"), 10, 64)
	must(err, "GOBENCH_SEED")
	freshDir(dir)
	defer os.RemoveAll(dir)
	s, err := k.open(dir, false)
	must(err, "open "+name)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		// Fresh slices for every put: rosedb's index keeps the caller's key
		// slice, and a store may keep the value's.
		kb, vb := make([]byte, keyLen), make([]byte, valueLen)
		key(kb, seedPresent, uint64(i))
		value(vb, kb)
		must(s.put(kb, vb), name+" put")
	}
	loadRate := float64(n) / time.Since(t0).Seconds()
	readLoop(s, name, n, warmupGets, seed<<8)
	answer(map[string]float64{"load_rate": loadRate})
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var g, ops int
		var rseed uint64
		if _, err := fmt.Sscanf(in.Text(), "read %d %d %d", &g, &ops, &rseed); err != nil {
			answer(readReply{Err: fmt.Sprintf("bad command %q", in.Text())})
			continue
		}
		d, lat := readParallel(s, name, n, ops, g, rseed)
		r := readReply{Ns: d.Nanoseconds(), Lat: make([]int64, len(lat))}
		for i, l := range lat {
			r.Lat[i] = l.Nanoseconds()
		}
		answer(r)
	}
	must(s.close(), "close "+name)
}

// readParallel runs g goroutines doing ops gets each on s; it returns the
// wall time from their common start to the last one's end, and the sampled
// latencies.
func readParallel(s store, name string, n, ops, g int, seed uint64) (time.Duration, []time.Duration) {
	var wg sync.WaitGroup
	lats := make([][]time.Duration, g)
	start := make(chan struct{})
	for t := 0; t < g; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			lats[t] = readLoop(s, name, n, ops, seed|uint64(t+1))
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	d := time.Since(t0)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return d, all
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// readLoop does ops gets of random keys among the first n, checks every
// value, and returns the latencies of one get in sampleEvery.
func readLoop(s store, name string, n, ops int, seed uint64) []time.Duration {
	r := rng(mix64(seed ^ 0x5EED))
	kb := make([]byte, keyLen)
	lat := make([]time.Duration, 0, ops/sampleEvery+1)
	for i := 0; i < ops; i++ {
		key(kb, seedPresent, r.below(uint64(n)))
		var t time.Time
		timed := i%sampleEvery == 0
		if timed {
			t = time.Now()
		}
		v, err := s.get(kb)
		if timed {
			lat = append(lat, time.Since(t))
		}
		if err != nil {
			must(err, name+" get")
		}
		if len(v) != valueLen || !bytes.Equal(v[:8], kb[:8]) {
			must(fmt.Errorf("wrong value (%d bytes) for key %x", len(v), kb), name+" get")
		}
	}
	return lat
}

// runSync measures fillsync (cfg.syncWrites durable puts of new keys into a
// fresh store, one writer, every put timed) for each store, and the disk's
// floor before the first store and after each one: one recordLen-byte pwrite +
// fdatasync per write into a file whose space was written and synced first.
// A store's ratio to the floor uses the mean of the floors measured just
// before and just after it, so that the disk's drift within a run (this
// virtual disk's flush time moves by 2x within minutes) falls on both sides.
func runSync(cfg config, order []kind, run int, res *results) {
	logf("[run %d/%d] fillsync: disk floor", run+1, cfg.runs)
	floor := diskFloor(cfg)
	res.add(run, "disk_floor", "disk floor: 148-byte pwrite + fdatasync, no store", "(disk)", floor.rate, floor.lat)
	for _, k := range order {
		logf("[run %d/%d] fillsync: %s", run+1, cfg.runs, k.name)
		dir := filepath.Join(cfg.dir, k.name+"-sync")
		freshDir(dir)
		s, err := k.open(dir, true)
		must(err, "open "+k.name)
		lat := make([]time.Duration, 0, cfg.syncWrites)
		t0 := time.Now()
		for i := 0; i < cfg.syncWrites; i++ {
			kb, vb := make([]byte, keyLen), make([]byte, valueLen)
			key(kb, seedSync, uint64(i))
			value(vb, kb)
			t := time.Now()
			must(s.put(kb, vb), k.name+" durable put")
			lat = append(lat, time.Since(t))
		}
		rate := float64(cfg.syncWrites) / time.Since(t0).Seconds()
		must(s.close(), "close "+k.name)
		os.RemoveAll(dir)
		logf("[run %d/%d] fillsync: disk floor", run+1, cfg.runs)
		after := diskFloor(cfg)
		res.add(run, "disk_floor", "", "(disk)", after.rate, after.lat)
		res.add(run, "fillsync_1w", "fillsync, 1 writer", k.name, rate, lat)
		res.floorShare(run, k.name, rate/((floor.rate+after.rate)/2))
		// The same at the median put: this virtual disk's stalls of milliseconds
		// (other tenants' writes) swing the rates far more than the medians.
		floorP50 := (percentile(floor.lat, 0.5) + percentile(after.lat, 0.5)) / 2
		res.floorP50Share(run, k.name, floorP50/percentile(lat, 0.5))
		floor = after
	}
}

type measured struct {
	rate float64
	lat  []time.Duration
}

func diskFloor(cfg config) measured {
	dir := filepath.Join(cfg.dir, "disk-floor")
	freshDir(dir)
	defer os.RemoveAll(dir)
	f, err := os.OpenFile(filepath.Join(dir, "floor.dat"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	must(err, "create floor file")
	defer f.Close()
	zeros := make([]byte, 4096)
	for off := 0; off < cfg.syncWrites*recordLen; off += len(zeros) {
		_, err := f.WriteAt(zeros, int64(off))
		must(err, "write zeros")
	}
	must(f.Sync(), "fsync floor file")
	rec := bytes.Repeat([]byte{0x5A}, recordLen)
	fd := int(f.Fd())
	lat := make([]time.Duration, 0, cfg.syncWrites)
	t0 := time.Now()
	for i := 0; i < cfg.syncWrites; i++ {
		t := time.Now()
		_, err := f.WriteAt(rec, int64(i*recordLen))
		must(err, "pwrite")
		must(syscall.Fdatasync(fd), "fdatasync")
		lat = append(lat, time.Since(t))
	}
	return measured{float64(cfg.syncWrites) / time.Since(t0).Seconds(), lat}
}

// results holds every figure of every run.
type results struct {
	// figures[id][store] = one value per run (NaN-free: missing runs absent).
	figures map[string]map[string][]runValue
	titles  map[string]string
	ids     []string
	lats    map[string]map[string][][]time.Duration
	// Per store, per run: fillsync's rate / the disk floor's rate, and the
	// floor's median put time / the store's median put time.
	floorOf    map[string][]runValue
	floorP50Of map[string][]runValue
}

type runValue struct {
	run int
	v   float64
}

func newResults() *results {
	return &results{
		figures:    map[string]map[string][]runValue{},
		titles:     map[string]string{},
		lats:       map[string]map[string][][]time.Duration{},
		floorOf:    map[string][]runValue{},
		floorP50Of: map[string][]runValue{},
	}
}

func (r *results) add(run int, id, title, store string, v float64, lat []time.Duration) {
	if _, ok := r.figures[id]; !ok {
		r.figures[id] = map[string][]runValue{}
		r.lats[id] = map[string][][]time.Duration{}
		r.ids = append(r.ids, id)
	}
	if title != "" {
		r.titles[id] = title
	}
	r.figures[id][store] = append(r.figures[id][store], runValue{run, v})
	if lat != nil {
		r.lats[id][store] = append(r.lats[id][store], lat)
	}
}

func (r *results) floorShare(run int, store string, v float64) {
	r.floorOf[store] = append(r.floorOf[store], runValue{run, v})
}

func (r *results) floorP50Share(run int, store string, v float64) {
	r.floorP50Of[store] = append(r.floorP50Of[store], runValue{run, v})
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func values(rv []runValue) []float64 {
	var out []float64
	for _, x := range rv {
		out = append(out, x.v)
	}
	return out
}

// percentile of one run's latencies, in microseconds.
func percentile(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return float64(s[i].Nanoseconds()) / 1e3
}

// latStats: medians over the runs of each run's p50 and p99.
func latStats(runs [][]time.Duration) (p50, p99 float64) {
	var a, b []float64
	for _, l := range runs {
		a = append(a, percentile(l, 0.50))
		b = append(b, percentile(l, 0.99))
	}
	return median(a), median(b)
}

// vsBestPeer: the median over the runs of libbitcask's value divided by the
// best peer's value in the same run, and the peers that were best.
func (r *results) vsBestPeer(id string) (float64, string) {
	byStore := r.figures[id]
	var ratios []float64
	best := map[string]bool{}
	for _, mine := range byStore["libbitcask"] {
		top, topName := 0.0, ""
		for name, rv := range byStore {
			if name == "libbitcask" || name == "(disk)" {
				continue
			}
			for _, x := range rv {
				if x.run == mine.run && x.v > top {
					top, topName = x.v, name
				}
			}
		}
		if top > 0 {
			ratios = append(ratios, mine.v/top)
			best[topName] = true
		}
	}
	if len(ratios) == 0 {
		return 0, ""
	}
	var names []string
	for n := range best {
		names = append(names, n)
	}
	sort.Strings(names)
	return median(ratios), strings.Join(names, "/")
}

func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func (r *results) storeOrder(id string) []string {
	var names []string
	for _, k := range kinds {
		if _, ok := r.figures[id][k.name]; ok {
			names = append(names, k.name)
		}
	}
	if _, ok := r.figures[id]["(disk)"]; ok {
		names = append(names, "(disk)")
	}
	return names
}

func (r *results) report(cfg config) {
	fmt.Printf("gobench: n=%d, runs=%d, sync writes=%d, GOMAXPROCS=%d, %s, %s/%s\n\n",
		cfg.n, cfg.runs, cfg.syncWrites, runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Println("| workload | store | ops/s (median) | per run | p50 us | p99 us | x best peer | x disk floor (rate; p50) |")
	fmt.Println("|---|---|---:|---|---:|---:|---:|---:|")
	for _, id := range r.ids {
		title := r.titles[id]
		for i, name := range r.storeOrder(id) {
			rv := r.figures[id][name]
			var per []string
			for _, x := range rv {
				per = append(per, fmtRate(x.v))
			}
			lat := "- | -"
			if runs := r.lats[id][name]; len(runs) > 0 {
				p50, p99 := latStats(runs)
				lat = fmt.Sprintf("%.2f | %.2f", p50, p99)
			}
			vs, floor := "-", "-"
			if name == "libbitcask" {
				if ratio, best := r.vsBestPeer(id); ratio > 0 {
					vs = fmt.Sprintf("%.2fx (%s)", ratio, best)
				}
			}
			if id == "fillsync_1w" && len(r.floorOf[name]) > 0 {
				floor = fmt.Sprintf("%.2f (p50: %.2f)", median(values(r.floorOf[name])), median(values(r.floorP50Of[name])))
			}
			shown := ""
			if i == 0 {
				shown = title
			}
			fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n",
				shown, name, fmtRate(median(values(rv))), strings.Join(per, ", "), lat, vs, floor)
		}
	}
	fmt.Println()
	for _, k := range cfg.stores {
		fmt.Printf("- %s: %s\n", k.name, k.how)
	}
}

func (r *results) writeJSON(cfg config) error {
	f, err := os.Create(cfg.jsonPath)
	if err != nil {
		return err
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, id := range r.ids {
		for _, name := range r.storeOrder(id) {
			rv := r.figures[id][name]
			p50, p99 := latStats(r.lats[id][name])
			line := map[string]any{
				"kind": "figure", "id": id, "workload": r.titles[id], "store": name, "unit": "ops/s",
				"n": cfg.n, "runs": cfg.runs, "value": median(values(rv)), "values": values(rv),
				"p50_us": p50, "p99_us": p99,
			}
			if name == "libbitcask" {
				if ratio, best := r.vsBestPeer(id); ratio > 0 {
					line["vs_best_peer"], line["best_peer"] = ratio, best
				}
			}
			if id == "fillsync_1w" && len(r.floorOf[name]) > 0 {
				line["vs_disk_floor"] = median(values(r.floorOf[name]))
				line["vs_disk_floor_runs"] = values(r.floorOf[name])
				line["vs_disk_floor_p50"] = median(values(r.floorP50Of[name]))
				line["vs_disk_floor_p50_runs"] = values(r.floorP50Of[name])
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
	}
	return nil
}
