package comply

// The two paths of DecodeInteraction, for FuzzDecodeInteractionFast.
var (
	DecodeInteractionFast = decodeInteractionFast
	DecodeInteractionSlow = decodeInteractionSlow
)
