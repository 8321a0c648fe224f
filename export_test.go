package comply_test

import (
	"testing"
	"time"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/storetest"
)

func storeRecord(t *testing.T, ts time.Time) store.Record {
	t.Helper()
	return storetest.Record("0190c6f8-d620-77e7-b458-943e08b4aa7b", ts, "m")
}
