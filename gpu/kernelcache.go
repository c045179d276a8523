package gpu

import (
	"errors"
	"slices"
	"sync"
)

// maxIdleKernels is how many kernels nobody holds a device keeps compiled,
// most recently given back first: enough for a task's evaluator and
// planner kernels to survive between two runs of a process, few enough
// that a program stepping through every task does not hold them all.
const maxIdleKernels = 4

// kernelCache keeps a device's compiled kernels by key (the WGSL source and
// whatever else their creation depends on), so that evaluators and planners
// on one device that run the same kernel compile it once: on lavapipe a
// kernel costs from 15 s to minutes, on a GPU driver seconds.
type kernelCache struct {
	mu      sync.Mutex
	entries map[string]*kernelEntry
	idle    []string // keys of entries nobody holds, least recently given back first
	closed  bool
}

type kernelEntry struct {
	ready   chan struct{} // closed once built (val, release and err set)
	val     any
	release func()
	err     error
	refs    int
}

// cachedKernel returns the kernel of key on d, building it the first time;
// done gives it back. Callers building the same key at once wait for one
// build; a failed build is not kept.
func cachedKernel[T any](d *Device, key string, build func() (T, func(), error)) (val T, done func(), err error) {
	c := &d.kernels
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*kernelEntry{}
	}
	e, ok := c.entries[key]
	if !ok {
		e = &kernelEntry{ready: make(chan struct{})}
		c.entries[key] = e
	}
	e.refs++
	c.idle = slices.DeleteFunc(c.idle, func(k string) bool { return k == key })
	c.mu.Unlock()

	if ok {
		<-e.ready
	} else {
		v, rel, err := build()
		e.val, e.release, e.err = v, rel, err
		c.mu.Lock()
		if c.closed && err == nil {
			rel() // the device closed while this kernel compiled
			e.err = errors.New("gpu: the device closed while a kernel compiled")
		}
		c.mu.Unlock()
		close(e.ready)
	}
	if e.err != nil {
		c.mu.Lock()
		e.refs--
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
		return val, nil, e.err
	}
	var once sync.Once
	return e.val.(T), func() { once.Do(func() { c.giveBack(key, e) }) }, nil
}

// giveBack drops one hold of e; a kernel nobody holds joins the idle ones,
// and the least recently used idle kernel beyond maxIdleKernels is released.
func (c *kernelCache) giveBack(key string, e *kernelEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.refs > 0 || c.closed || c.entries[key] != e {
		return
	}
	c.idle = append(c.idle, key)
	for len(c.idle) > maxIdleKernels {
		old := c.entries[c.idle[0]]
		delete(c.entries, c.idle[0])
		c.idle = c.idle[1:]
		old.release()
	}
}

// close releases every kernel: the device is going away, so a holder's
// later done is a no-op.
func (c *kernelCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, e := range c.entries {
		select {
		case <-e.ready:
			if e.err == nil {
				e.release()
			}
		default: // still building: its builder owns it
		}
	}
	c.entries, c.idle = nil, nil
}

// refs says how many hold the kernel of key (for tests).
func (c *kernelCache) refs(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		return e.refs
	}
	return 0
}

// counts says how many cached kernels are held and idle (for tests).
func (c *kernelCache) counts() (held, idle int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries) - len(c.idle), len(c.idle)
}
