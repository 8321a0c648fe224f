package s3store

import (
	"slices"
	"strings"
	"sync"
)

// A segInfo is a segment as a listing shows it.
type segInfo struct {
	name segName
	key  string // name.key(), kept: formatting it is not free
	size int64
}

func newSegInfo(n segName, key string, size int64) segInfo {
	return segInfo{name: n, key: key, size: size}
}

func (i segInfo) rel() string { return i.key }

// A dayList is the segments of one day: the current ones (the highest
// generation of each writer and sequence number) sorted by writer and
// sequence, and the stale lower generations that an interrupted rewrite
// left behind.
type dayList struct {
	segs  []segInfo
	stale []segInfo
}

// newDayList sorts and deduplicates the segments a listing found.
func newDayList(all []segInfo) *dayList {
	slices.SortFunc(all, func(a, b segInfo) int {
		if c := strings.Compare(a.name.writer, b.name.writer); c != 0 {
			return c
		}
		if c := strings.Compare(a.name.run, b.name.run); c != 0 {
			return c
		}
		if a.name.seq != b.name.seq {
			if a.name.seq < b.name.seq {
				return -1
			}
			return 1
		}
		return b.name.gen - a.name.gen // highest generation first
	})
	l := &dayList{}
	for i, g := range all {
		if i > 0 && all[i-1].name.writer == g.name.writer && all[i-1].name.run == g.name.run && all[i-1].name.seq == g.name.seq {
			l.stale = append(l.stale, g)
			continue
		}
		l.segs = append(l.segs, g)
	}
	return l
}

// cache keeps day listings (for Get) and segment indexes. Indexes never go
// stale: a segment's key names one content. Listings do, and Get lists a
// day again before it reports an id missing.
type cache struct {
	mu      sync.Mutex
	lists   map[day]*dayList
	indexes map[string]*segIndex // by relative key
	entries int                  // ids held by indexes
	days    []day                // every day with segments, most recent first
	daysOK  bool
}

func (c *cache) allDays() ([]day, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.days, c.daysOK
}

func (c *cache) putAllDays(days []day) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.days, c.daysOK = days, true
}

const (
	maxCachedDays    = 256
	maxCachedEntries = 4 << 20
)

func (c *cache) day(d day) *dayList {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists[d]
}

func (c *cache) putDay(d day, l *dayList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lists == nil {
		c.lists = map[day]*dayList{}
	}
	if len(c.lists) >= maxCachedDays {
		for k := range c.lists {
			delete(c.lists, k)
			break
		}
	}
	c.lists[d] = l
}

func (c *cache) dropDay(d day) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.lists, d)
}

// stored adds a segment this process wrote to the cached listing of its
// day, if there is one.
func (c *cache) stored(n segName, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.daysOK && !slices.Contains(c.days, n.day) {
		c.days = append(c.days, n.day)
		slices.SortFunc(c.days, func(a, b day) int { return int(b - a) })
	}
	l := c.lists[n.day]
	if l == nil {
		return
	}
	all := append(slices.Clone(l.segs), l.stale...)
	all = append(all, newSegInfo(n, n.key(), size))
	c.lists[n.day] = newDayList(all)
}

func (c *cache) index(rel string) *segIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.indexes[rel]
}

func (c *cache) putIndex(rel string, x *segIndex) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.indexes == nil {
		c.indexes = map[string]*segIndex{}
	}
	if _, ok := c.indexes[rel]; ok {
		return
	}
	for k, v := range c.indexes {
		if c.entries+len(x.ids) <= maxCachedEntries {
			break
		}
		delete(c.indexes, k)
		c.entries -= len(v.ids)
	}
	c.indexes[rel] = x
	c.entries += len(x.ids)
}
