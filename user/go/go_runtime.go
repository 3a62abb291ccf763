// go_runtime: Go's runtime on the kernel it runs on — goroutines spread over several OS threads
// (clone with CLONE_THREAD, futex), channels, select with timers, mutexes, the garbage
// collector (mmap, madvise, signals for preemption), and os/exec (clone(CLONE_VM|CLONE_VFORK)
// then execve). It prints one line per check; the output must be the same on Linux and Tine.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

var failed int

func check(name string, ok bool, why string) {
	if ok {
		fmt.Printf("ok go_runtime.%s\n", name)
	} else {
		failed++
		fmt.Printf("not ok go_runtime.%s: %s\n", name, why)
	}
}

// Work the scheduler must spread over threads: goroutines that each sum a range and send it.
func fanIn(workers, per int) int64 {
	ch := make(chan int64, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			var s int64
			for i := 0; i < per; i++ {
				s += int64(w*per + i)
			}
			ch <- s
		}(w)
	}
	var total int64
	for w := 0; w < workers; w++ {
		total += <-ch
	}
	return total
}

// A pipeline of unbuffered channels: every value crosses every stage.
func pipeline(stages, values int) int {
	in := make(chan int)
	var c chan int = in
	for s := 0; s < stages; s++ {
		next := make(chan int)
		go func(from, to chan int) {
			for v := range from {
				to <- v + 1
			}
			close(to)
		}(c, next)
		c = next
	}
	go func() {
		for v := 0; v < values; v++ {
			in <- v
		}
		close(in)
	}()
	sum := 0
	for v := range c {
		sum += v
	}
	return sum
}

// Many goroutines contending for one mutex; the count must be exact.
func mutexCount(goroutines, each int) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	n := 0
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

type node struct {
	next *node
	data [64]byte
}

// Allocate garbage in a loop while keeping one list alive; the collector must run and the live
// list must survive it intact.
func garbage() (int, uint32, bool) {
	var keep *node
	for i := 0; i < 1000; i++ {
		n := &node{next: keep}
		n.data[0] = byte(i)
		keep = n
	}
	before := gcCount()
	for round := 0; round < 50; round++ {
		junk := make([][]byte, 0, 256)
		for i := 0; i < 256; i++ {
			junk = append(junk, make([]byte, 4096))
		}
		_ = junk
	}
	runtime.GC()
	after := gcCount()
	count, intact := 0, true
	for n, i := keep, 999; n != nil; n, i = n.next, i-1 {
		if n.data[0] != byte(i) {
			intact = false
		}
		count++
	}
	return count, after - before, intact
}

func gcCount() uint32 {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.NumGC
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		fmt.Printf("child says %s\n", strings.Join(os.Args[2:], " "))
		os.Exit(7)
	}
	runtime.GOMAXPROCS(4)
	debug.SetGCPercent(20)

	check("fan_in_sum", fanIn(64, 10000) == int64(64*10000)*int64(64*10000-1)/2, "wrong total")
	check("pipeline_sum", pipeline(8, 1000) == 1000*999/2+8*1000, "wrong sum")
	check("mutex_count_exact", mutexCount(32, 2000) == 64000, "lost increments")

	count, gcs, intact := garbage()
	check("gc_ran", gcs > 0, "no collection")
	check("gc_kept_live_list", count == 1000 && intact, "live data damaged")

	// Timers and select: a timeout fires, a ready channel wins over a later timeout.
	start := time.Now()
	select {
	case <-make(chan int):
		check("select_timeout", false, "nil receive won")
	case <-time.After(20 * time.Millisecond):
		check("select_timeout", time.Since(start) >= 20*time.Millisecond, "fired early")
	}
	ready := make(chan int, 1)
	ready <- 1
	select {
	case <-ready:
		check("select_ready_wins", true, "")
	case <-time.After(time.Second):
		check("select_ready_wins", false, "timeout won")
	}

	// A goroutine spinning without calls must not stop the others (async preemption).
	stop := make(chan struct{})
	spun := make(chan int)
	go func() {
		x := 0
		for {
			select {
			case <-stop:
				spun <- x
				return
			default:
			}
			for i := 0; i < 1000000; i++ {
				x += i & 1
			}
		}
	}()
	time.Sleep(10 * time.Millisecond)
	close(stop)
	check("spinning_goroutine_stops", <-spun > 0, "never ran")

	// os/exec: Go forks with clone(CLONE_VM|CLONE_VFORK), then execve.
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	out, err := exec.Command(self, "child", "hello", "tine").Output()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	check("exec_child_output", string(out) == "child says hello tine\n", fmt.Sprintf("%q", out))
	check("exec_child_status", code == 7, fmt.Sprintf("status %d err %v", code, err))

	fmt.Printf("summary go_runtime %d\n", failed)
	if failed > 0 {
		os.Exit(1)
	}
}
