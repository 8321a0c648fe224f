package keysource_test

import "encoding/base64"

func decodeURL(s string) ([]byte, error) { return base64.URLEncoding.DecodeString(s) }
