package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	"sigs.k8s.io/yaml"
)

// DefaultNamespace is given to objects whose metadata names no namespace, as
// kubectl does.
const DefaultNamespace = "default"

// MeshConfigMapName is the name of the ConfigMap holding MeshConfig.
const MeshConfigMapName = "istio"

// Decode parses a multi-document YAML (or JSON) stream into objects. Each
// document that cannot be read becomes a Rejection naming the file, the
// document, the object when known, and the field path. Empty documents are
// skipped. origin.File names the input; Document is filled in here.
func Decode(origin Origin, data []byte) ([]*Object, []*Rejection) {
	var objs []*Object
	var rejs []*Rejection
	for i, doc := range splitDocuments(data) {
		o := origin
		o.Document = i + 1
		obj, rej := decodeDocument(o, doc)
		switch {
		case rej != nil:
			rejs = append(rejs, rej)
		case obj != nil:
			objs = append(objs, obj)
		}
	}
	return objs, rejs
}

// Documents splits a YAML stream into its documents' text, numbered as
// Decode numbers them (Origin.Document is the index + 1).
func Documents(data []byte) [][]byte {
	docs := splitDocuments(data)
	out := make([][]byte, len(docs))
	for i, d := range docs {
		out[i] = d.text
	}
	return out
}

type document struct {
	text      []byte
	firstLine int
}

// splitDocuments splits a YAML stream at "---" separator lines.
func splitDocuments(data []byte) []document {
	var docs []document
	var cur bytes.Buffer
	start, line := 1, 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "---" || strings.HasPrefix(text, "--- ") || strings.HasPrefix(text, "---\t") {
			docs = append(docs, document{text: bytes.Clone(cur.Bytes()), firstLine: start})
			cur.Reset()
			start = line + 1
			continue
		}
		cur.WriteString(text)
		cur.WriteByte('\n')
	}
	docs = append(docs, document{text: cur.Bytes(), firstLine: start})
	// A leading separator makes an empty first document; drop it so numbering
	// matches what a reader counts.
	if len(docs) > 1 && len(bytes.TrimSpace(docs[0].text)) == 0 && strings.HasPrefix(string(data), "---") {
		docs = docs[1:]
	}
	return docs
}

type rawObject struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   json.RawMessage `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
	Data       json.RawMessage `json:"data"`
	Status     json.RawMessage `json:"status"`
}

// rawMeta lists the metadata fields Lateen reads; the system fields a
// Kubernetes export carries are accepted and ignored.
type rawMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations"`
	CreationTimestamp *time.Time        `json:"creationTimestamp"`
	GenerateName      string            `json:"generateName"`
	UID               string            `json:"uid"`
	ResourceVersion   string            `json:"resourceVersion"`
	Generation        int64             `json:"generation"`
	SelfLink          string            `json:"selfLink"`
	ManagedFields     json.RawMessage   `json:"managedFields"`
	OwnerReferences   json.RawMessage   `json:"ownerReferences"`
	Finalizers        json.RawMessage   `json:"finalizers"`
}

func decodeDocument(origin Origin, doc document) (*Object, *Rejection) {
	reject := func(key Key, err error) (*Object, *Rejection) {
		return nil, &Rejection{Origin: origin, Key: key, Err: err}
	}
	js, err := yaml.YAMLToJSON(doc.text)
	if err != nil {
		return reject(Key{}, fmt.Errorf("invalid YAML: %s", shiftLines(err.Error(), doc.firstLine-1)))
	}
	if t := bytes.TrimSpace(js); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	var raw rawObject
	if err := strictUnmarshal(js, &raw); err != nil {
		return reject(Key{}, fmt.Errorf("not a Kubernetes-style object: %v", err))
	}
	if raw.Kind == "" || raw.APIVersion == "" {
		return reject(Key{}, fmt.Errorf("apiVersion and kind are required"))
	}
	info, ok, known := LookupKind(raw.APIVersion, raw.Kind)
	if !ok {
		if known {
			return reject(Key{}, fmt.Errorf("%s: unsupported apiVersion %q for kind %s (use one of %s/%s)",
				"apiVersion", raw.APIVersion, raw.Kind, info.Kind.Group, strings.Join(info.Versions, ", ")))
		}
		return reject(Key{}, fmt.Errorf("kind %s (apiVersion %s) is not an Istio configuration kind Lateen reads", raw.Kind, raw.APIVersion))
	}
	meta, err := decodeMeta(raw.Metadata)
	key := Key{Kind: info.Kind, Namespace: meta.Namespace, Name: meta.Name}
	if err != nil {
		return reject(key, err)
	}
	obj := &Object{Kind: info.Kind, Meta: meta, Origin: origin}
	if info.NewSpec == nil {
		obj.Spec, obj.Raw, err = decodeMeshConfigMap(meta, raw.Data)
	} else {
		if len(raw.Data) > 0 {
			return reject(key, &FieldError{Path: "data", Msg: "unknown field \"data\""})
		}
		obj.Spec, _, err = decodeSpec("spec", raw.Spec, info.NewSpec())
	}
	if err != nil {
		return reject(key, err)
	}
	return obj, nil
}

func decodeMeta(raw json.RawMessage) (Meta, error) {
	var rm rawMeta
	if len(raw) > 0 {
		if err := strictUnmarshal(raw, &rm); err != nil {
			return Meta{}, &FieldError{Path: "metadata", Msg: err.Error()}
		}
	}
	if rm.Namespace == "" {
		rm.Namespace = DefaultNamespace
	}
	m := Meta{Name: rm.Name, Namespace: rm.Namespace, Labels: rm.Labels, Annotations: rm.Annotations}
	if rm.CreationTimestamp != nil {
		m.CreationTimestamp = *rm.CreationTimestamp
	}
	var errs FieldErrors
	if rm.Name == "" {
		errs.Add("metadata.name", "required")
	} else if !isDNS1123Subdomain(rm.Name) {
		errs.Add("metadata.name", "%q must be a lowercase RFC 1123 subdomain", rm.Name)
	}
	if !isDNS1123Label(rm.Namespace) {
		errs.Add("metadata.namespace", "%q must be a lowercase RFC 1123 label", rm.Namespace)
	}
	return m, errs.Err()
}

// decodeSpec checks a JSON spec against msg's descriptor, then decodes it.
// It also returns the checked JSON, with canonical field names.
func decodeSpec(path string, raw json.RawMessage, msg proto.Message) (proto.Message, []byte, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return msg, []byte("{}"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, &FieldError{Path: path, Msg: err.Error()}
	}
	var errs FieldErrors
	v = checkMessage(path, v, msg.ProtoReflect().Descriptor(), &errs)
	if len(errs) > 0 {
		return nil, nil, errs
	}
	norm, err := json.Marshal(v)
	if err != nil {
		return nil, nil, &FieldError{Path: path, Msg: err.Error()}
	}
	if err := protojson.Unmarshal(norm, msg); err != nil {
		return nil, nil, &FieldError{Path: path, Msg: err.Error()}
	}
	return msg, norm, nil
}

func decodeMeshConfigMap(meta Meta, data json.RawMessage) (proto.Message, []byte, error) {
	if meta.Name != MeshConfigMapName {
		return nil, nil, &FieldError{Path: "metadata.name", Msg: fmt.Sprintf(
			"only the ConfigMap named %q (MeshConfig under data.mesh) is read", MeshConfigMapName)}
	}
	var d map[string]string
	if len(data) > 0 {
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, nil, &FieldError{Path: "data", Msg: err.Error()}
		}
	}
	return DecodeMeshConfig("data.mesh", []byte(d["mesh"]))
}

// DecodeMeshConfig parses MeshConfig YAML (Istio's mesh file format); path
// prefixes field paths in errors. Defaults are not applied here. It also
// returns the content as JSON with canonical field names, which keeps what
// the proto cannot: which fields were written (e.g. an enum set to its zero
// value over a non-zero default), for merging over defaults.
func DecodeMeshConfig(path string, data []byte) (*meshv1alpha1.MeshConfig, []byte, error) {
	mc := &meshv1alpha1.MeshConfig{}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, nil, &FieldError{Path: path, Msg: "invalid YAML: " + err.Error()}
	}
	_, raw, err := decodeSpec(path, js, mc)
	if err != nil {
		return nil, nil, err
	}
	return mc, raw, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// shiftLines rewrites "line N" in a YAML error to a line of the whole file.
func shiftLines(msg string, offset int) string {
	return yamlLineRE.ReplaceAllStringFunc(msg, func(s string) string {
		n, _ := strconv.Atoi(s[len("line "):])
		return "line " + strconv.Itoa(n+offset)
	})
}

var (
	dns1123LabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

func isDNS1123Label(s string) bool { return len(s) <= 63 && dns1123LabelRE.MatchString(s) }

func isDNS1123Subdomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if !isDNS1123Label(part) {
			return false
		}
	}
	return true
}
