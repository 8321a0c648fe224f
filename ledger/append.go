package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/complyhq/comply/store"
)

// journalInterval is how often the journal is sealed, and synced in the
// Interval mode, when the store's durability is not Always.
const journalInterval = 100 * time.Millisecond

// Append stores recs through the journal: the intent of the batch (its
// leaves) is appended to the journal before the store writes the lines,
// and once the store has acknowledged them, so is the fact. In the store's
// Always mode the journal is sealed and synced (one sync for every caller
// waiting) before Append returns, in parallel with the store's own sync;
// in the Interval mode within journalInterval. So an acknowledged entry is
// never without integrity data that a restarted writer can check: after a
// crash, it recovers exactly the lines its journal vouches for.
//
// A store that keeps no append-only blobs (store.Appender) is appended to
// directly; its entries rely on the checkpoints alone.
func (l *Ledger) Append(ctx context.Context, recs ...store.Record) error {
	j := l.j
	if j == nil {
		return l.st.Append(ctx, recs...)
	}
	seq, rec, err := j.intend(ctx, recs)
	if err != nil {
		return err
	}
	if j.durable != store.Always {
		err := l.st.Append(ctx, recs...)
		return errors.Join(err, j.acknowledge(ctx, seq, err == nil, false))
	}
	// Seal first, then wait for the journal's fsync and the store's in
	// parallel: both join the store's next sync round, which fsyncs them at
	// the same moment.
	if err := j.seal(ctx, rec); err != nil {
		return errors.Join(err, j.acknowledge(ctx, seq, false, true))
	}
	synced := make(chan error, 1)
	go func() { synced <- j.syncBlob(ctx) }()
	err = l.st.Append(ctx, recs...)
	serr := <-synced
	return errors.Join(err, serr, j.acknowledge(ctx, seq, err == nil, true))
}

// journalLoop seals the journal every journalInterval, and syncs it in the
// Interval mode.
func (l *Ledger) journalLoop() {
	t := time.NewTicker(journalInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		var err error
		if l.j.durable == store.Interval {
			err = l.j.sync(context.Background(), l.j.appendedCount())
		} else {
			l.j.mu.Lock()
			err = l.j.sealLocked(context.Background())
			l.j.mu.Unlock()
		}
		if err != nil {
			l.opts.ErrorLog.Error("ledger: journal seal failed", "origin", l.origin, "err", err)
		}
	}
}
