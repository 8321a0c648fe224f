// Package keysourcetest runs local servers that speak the wire protocols
// of AWS Secrets Manager and AWS KMS (JSON 1.1 over HTTP, with the
// X-Amz-Target header) and of HashiCorp Vault's KV version 2 API, so that
// the real SDK clients of package keysource can be tested, pointed at them
// by endpoint, without a network. They implement only the calls keysource
// makes: GetSecretValue, Decrypt, and GET /v1/MOUNT/data/PATH.
package keysourcetest
