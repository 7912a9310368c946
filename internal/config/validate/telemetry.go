package validate

import (
	telemetry "istio.io/api/telemetry/v1alpha1"
)

func validateTelemetry(c *checker, p path, t *telemetry.Telemetry) {
	checkPolicyTarget(c, p, t.GetSelector(), t.GetTargetRef(), t.GetTargetRefs())
	for i, tr := range t.GetTracing() {
		checkTracing(c, p.field("tracing").index(i), tr)
	}
	for i, m := range t.GetMetrics() {
		checkMetrics(c, p.field("metrics").index(i), m)
	}
	for i, l := range t.GetAccessLogging() {
		lp := p.field("accessLogging").index(i)
		checkProviderRefs(c, lp.field("providers"), l.GetProviders())
		if f := l.GetFilter(); f != nil && f.GetExpression() == "" {
			c.errorf(lp.field("filter").field("expression"), "filter expression is required when filter is set")
		} else if f != nil {
			checkCEL(c, lp.field("filter").field("expression"), f.GetExpression())
		}
	}
}

func checkProviderRefs(c *checker, p path, refs []*telemetry.ProviderRef) {
	for i, r := range refs {
		if r.GetName() == "" {
			c.errorf(p.index(i).field("name"), "provider name is required")
		}
	}
}

func checkTracing(c *checker, p path, tr *telemetry.Tracing) {
	checkProviderRefs(c, p.field("providers"), tr.GetProviders())
	if sp := tr.GetRandomSamplingPercentage(); sp != nil {
		checkPercent(c, p.field("randomSamplingPercentage"), sp.GetValue())
	}
	for _, name := range sortedKeys(tr.GetCustomTags()) {
		tp := p.field("customTags").key(name)
		if name == "" {
			c.errorf(tp, "tag name must not be empty")
		}
		checkCustomTag(c, tp, tr.GetCustomTags()[name])
	}
}

func checkCustomTag(c *checker, p path, tag *telemetry.Tracing_CustomTag) {
	switch t := tag.GetType().(type) {
	case nil:
		c.errorf(p, "one of literal, environment, header or formatter is required")
	case *telemetry.Tracing_CustomTag_Literal:
		if t.Literal.GetValue() == "" {
			c.errorf(p.field("literal").field("value"), "literal value is required")
		}
	case *telemetry.Tracing_CustomTag_Environment:
		if t.Environment.GetName() == "" {
			c.errorf(p.field("environment").field("name"), "environment variable name is required")
		}
	case *telemetry.Tracing_CustomTag_Header:
		if t.Header.GetName() == "" {
			c.errorf(p.field("header").field("name"), "header name is required")
		}
	case *telemetry.Tracing_CustomTag_Formatter:
		if t.Formatter.GetValue() == "" {
			c.errorf(p.field("formatter").field("value"), "formatter value is required")
		}
	}
}

func checkMetrics(c *checker, p path, m *telemetry.Metrics) {
	checkProviderRefs(c, p.field("providers"), m.GetProviders())
	checkDuration(c, p.field("reportingInterval"), m.GetReportingInterval())
	for i, o := range m.GetOverrides() {
		op := p.field("overrides").index(i)
		if cm, ok := o.GetMatch().GetMetricMatch().(*telemetry.MetricSelector_CustomMetric); ok && cm.CustomMetric == "" {
			c.errorf(op.field("match").field("customMetric"), "customMetric must not be empty")
		}
		for _, name := range sortedKeys(o.GetTagOverrides()) {
			checkTagOverride(c, op.field("tagOverrides").key(name), name, o.GetTagOverrides()[name])
		}
	}
}

func checkTagOverride(c *checker, p path, name string, to *telemetry.MetricsOverrides_TagOverride) {
	if name == "" {
		c.errorf(p, "tag name must not be empty")
	}
	switch to.GetOperation() {
	case telemetry.MetricsOverrides_TagOverride_UPSERT:
		if to.GetValue() == "" {
			c.errorf(p.field("value"), "value is required when operation is UPSERT")
		} else {
			checkCEL(c, p.field("value"), to.GetValue())
		}
	case telemetry.MetricsOverrides_TagOverride_REMOVE:
		if to.GetValue() != "" {
			c.errorf(p.field("value"), "value must not be set when operation is REMOVE")
		}
	}
}
