package tracing

import (
	nethttp "net/http"

	"go.opentelemetry.io/otel/attribute"

	proxyhttp "github.com/lateenmesh/lateen/internal/proxy/http"
	"github.com/lateenmesh/lateen/internal/proxy/resource"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/accesslog"
	"github.com/lateenmesh/lateen/internal/proxy/telemetry/attrs"
)

// customTag is a compiled custom tag.
type customTag struct {
	tag    string
	kind   resource.CustomTagKind
	value  string
	def    string
	format *accesslog.Format // TagFormat
}

func compileTags(cfgs []resource.CustomTag, env accesslog.Env) ([]customTag, error) {
	out := make([]customTag, 0, len(cfgs))
	for _, c := range cfgs {
		t := customTag{tag: c.Tag, kind: c.Kind, value: c.Value, def: c.Default}
		if c.Kind == resource.TagFormat {
			f, err := accesslog.CompileText(c.Value, true, env)
			if err != nil {
				return nil, err
			}
			t.format = f
		}
		out = append(out, t)
	}
	return out, nil
}

// customTags evaluates the custom tags (a header tag without the header
// or a default, and an empty format tag, are left out).
func (o *observer) customTags(r *nethttp.Request, info *proxyhttp.Info) []attribute.KeyValue {
	if len(o.tags) == 0 {
		return nil
	}
	var entry *accesslog.Entry
	out := make([]attribute.KeyValue, 0, len(o.tags))
	for _, t := range o.tags {
		var v string
		switch t.kind {
		case resource.TagLiteral:
			v = t.value
		case resource.TagRequestHeader:
			v = r.Header.Get(t.value)
			if v == "" {
				v = t.def
			}
		case resource.TagFormat:
			if entry == nil {
				entry = &accesslog.Entry{TLS: r.TLS}
				attrs.FromHTTP(&entry.Bag, r, info, o.t.opts.Node, "")
			}
			v = string(t.format.AppendText(nil, entry))
		}
		if v != "" {
			out = append(out, attribute.String(t.tag, v))
		}
	}
	return out
}
