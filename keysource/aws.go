package keysource

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/complyhq/comply/internal/keyfile"
	"github.com/complyhq/comply/seal"
)

// maxKMSFileSize bounds a kms file: a few wrapped keys of a few hundred
// bytes each.
const maxKMSFileSize = 1 << 20

// smSource reads a keyring from AWS Secrets Manager.
type smSource struct {
	id, region, stage string
	client            *secretsmanager.Client // made on first Load, then reused
}

func (s *smSource) String() string { return "aws-sm:" + s.id }

func (s *smSource) Load(ctx context.Context) (*seal.Keyring, error) {
	if s.client == nil {
		cfg, err := awsConfig(ctx, s.region)
		if err != nil {
			return nil, fmt.Errorf("keysource: %s: %w", s, err)
		}
		s.client = secretsmanager.NewFromConfig(cfg)
	}
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.id)}
	if s.stage != "" {
		in.VersionStage = aws.String(s.stage)
	}
	out, err := s.client.GetSecretValue(ctx, in)
	if err != nil {
		return nil, awsError(s.String(), "GetSecretValue", err)
	}
	text := aws.ToString(out.SecretString)
	if out.SecretString == nil {
		if len(out.SecretBinary) == 0 {
			return nil, fmt.Errorf("keysource: %s: %w: it has neither SecretString nor SecretBinary", s, ErrSecret)
		}
		text = string(out.SecretBinary)
	}
	return parseSecret(text, s.String())
}

// awsConfig loads the SDK's default configuration: the standard
// credential chain, region and endpoint settings.
func awsConfig(ctx context.Context, region string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("%w: loading AWS configuration: %w", ErrUnavailable, err)
	}
	return cfg, nil
}

// awsError describes a failed AWS call; the service's error code says
// what went wrong (ResourceNotFoundException: a wrong secret id;
// AccessDeniedException: the credentials may not read it).
func awsError(source, op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		what := ""
		switch ae.ErrorCode() {
		case "ResourceNotFoundException", "NotFoundException":
			what = "not found (check the secret or key id and the region)"
		case "AccessDeniedException", "AccessDenied":
			what = "access denied (the credentials may not read it)"
		case "DecryptionFailureException", "InvalidCiphertextException", "IncorrectKeyException":
			what = "AWS could not decrypt it"
		case "KMSInternalException", "InternalServiceError", "InternalFailure", "ServiceUnavailableException", "DependencyTimeoutException", "KMSInvalidStateException", "DisabledException":
			what = "the service is unavailable or the key is disabled"
		}
		if what != "" {
			return fmt.Errorf("keysource: %s: %s: %w: %s: %w", source, op, ErrUnavailable, what, err)
		}
	}
	return fmt.Errorf("keysource: %s: %s: %w: %w", source, op, ErrUnavailable, err)
}

// kmsSource reads data keys wrapped by AWS KMS from a file.
type kmsSource struct {
	path   string
	client *kms.Client
}

func (s *kmsSource) String() string { return "kms:" + s.path }

// wrappedKey is one line of a kms file.
type wrappedKey struct {
	id   string
	blob []byte
}

func (s *kmsSource) Load(ctx context.Context) (*seal.Keyring, error) {
	data, err := keyfile.Read(s.path, false, maxKMSFileSize)
	if err != nil {
		return nil, fmt.Errorf("keysource: %s: %w", s, err)
	}
	wks, err := parseKMSFile(string(data), s.String())
	if err != nil {
		return nil, err
	}
	if s.client == nil {
		cfg, err := awsConfig(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("keysource: %s: %w", s, err)
		}
		s.client = kms.NewFromConfig(cfg)
	}
	nks := make([]seal.NamedKey, len(wks))
	for i, wk := range wks {
		out, err := s.client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wk.blob})
		if err != nil {
			return nil, awsError(s.String(), "Decrypt of "+wk.id, err)
		}
		k, err := rawOrText(out.Plaintext)
		clear(out.Plaintext)
		if err != nil {
			return nil, fmt.Errorf("keysource: %s: %w: key %q unwraps to something that is not a key: %w", s, ErrSecret, wk.id, err)
		}
		nks[i] = seal.NamedKey{ID: wk.id, Key: k}
	}
	kr, err := seal.NewNamedKeyring(nks[0], nks[1:]...)
	if err != nil {
		return nil, fmt.Errorf("keysource: %s: %w", s, err)
	}
	return kr, nil
}

// parseKMSFile parses lines of "ID:BASE64" ('#' starts a comment).
func parseKMSFile(text, source string) ([]wrappedKey, error) {
	var wks []wrappedKey
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, maxKMSFileSize)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		id, b64, ok := strings.Cut(line, ":")
		if !ok || !seal.ValidKeyID(id) {
			return nil, fmt.Errorf("keysource: %s: %w: line %d is not ID:CIPHERTEXT with a valid id", source, ErrSecret, n)
		}
		blob, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil || len(blob) == 0 {
			return nil, fmt.Errorf("keysource: %s: %w: line %d: the ciphertext is not standard base64", source, ErrSecret, n)
		}
		wks = append(wks, wrappedKey{id: id, blob: blob})
	}
	if len(wks) == 0 {
		return nil, fmt.Errorf("keysource: %s: %w: no wrapped key in the file", source, seal.ErrNoKey)
	}
	return wks, nil
}

// encodeRaw encodes 32 raw key bytes as a key's text.
func encodeRaw(b []byte) string { return base64.URLEncoding.EncodeToString(b) }
