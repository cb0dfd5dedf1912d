//! Problems found in a manifest, as miette diagnostics that point into it.

use std::fmt;
use std::ops::Range;

use miette::{Diagnostic, LabeledSpan, Severity, SourceCode};

use super::source_file::SourceFile;

/// One problem in a manifest: what is wrong, where (one or more labelled
/// spans), and how to fix it. Errors found together travel as `related`.
#[derive(Debug, Clone)]
pub struct ManifestDiagnostic {
    inner: Box<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    code: &'static str,
    message: String,
    severity: Severity,
    src: SourceFile,
    labels: Vec<(Range<usize>, String)>,
    help: Option<String>,
    related: Vec<ManifestDiagnostic>,
}

impl ManifestDiagnostic {
    /// An error with a stable `code` (`manifest::unknown-key`…).
    pub fn error(code: &'static str, src: &SourceFile, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                code,
                message: message.into(),
                severity: Severity::Error,
                src: src.clone(),
                labels: Vec::new(),
                help: None,
                related: Vec::new(),
            }),
        }
    }

    pub fn warning(code: &'static str, src: &SourceFile, message: impl Into<String>) -> Self {
        let mut diagnostic = Self::error(code, src, message);
        diagnostic.inner.severity = Severity::Warning;
        diagnostic
    }

    pub fn with_label(mut self, span: Range<usize>, text: impl Into<String>) -> Self {
        self.inner.labels.push((span, text.into()));
        self
    }

    pub fn with_help(mut self, text: impl Into<String>) -> Self {
        self.inner.help = Some(text.into());
        self
    }

    /// The stable code, e.g. `manifest::unknown-key`.
    pub fn code_name(&self) -> &'static str {
        self.inner.code
    }

    /// The problem without its labels and help.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    pub fn is_error(&self) -> bool {
        self.inner.severity == Severity::Error
    }

    /// Folds several problems into one report: the first leads, the others
    /// follow as related diagnostics.
    pub fn combine(mut problems: Vec<ManifestDiagnostic>) -> Option<ManifestDiagnostic> {
        if problems.is_empty() {
            return None;
        }
        let mut first = problems.remove(0);
        first.inner.related.extend(problems);
        Some(first)
    }

    /// Every problem in this report, the leading one first.
    pub fn all(&self) -> impl Iterator<Item = &ManifestDiagnostic> {
        std::iter::once(self).chain(self.inner.related.iter())
    }
}

impl fmt::Display for ManifestDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for ManifestDiagnostic {}

impl Diagnostic for ManifestDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.inner.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.inner.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.inner.src)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.inner.labels.iter().map(|(span, text)| {
            LabeledSpan::new_with_span(Some(text.clone()), span.clone())
        })))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.inner.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.inner.related.iter().map(|d| d as &dyn Diagnostic),
        ))
    }
}
