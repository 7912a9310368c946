package translate

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// mustAny wraps a message in Any. Marshalling a well-formed generated
// message cannot fail; a failure is a programming error. The encoding is
// deterministic (map entries sorted), so the same message always gives the
// same bytes: resource versions are content hashes.
func mustAny(m proto.Message) *anypb.Any {
	a := &anypb.Any{}
	if err := anypb.MarshalFrom(a, m, proto.MarshalOptions{Deterministic: true}); err != nil {
		panic(err)
	}
	return a
}
