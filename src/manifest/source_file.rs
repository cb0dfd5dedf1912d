//! The text of a file that diagnostics point into.

use std::sync::Arc;

use miette::{MietteError, NamedSource, SourceCode, SourceSpan, SpanContents};

/// A named piece of text (a manifest) shared by every diagnostic about it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    inner: Arc<NamedSource<String>>,
}

impl SourceFile {
    /// `name` is how the user named the file (kept as given, so messages match
    /// what they typed).
    pub fn new(name: impl AsRef<str>, text: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(NamedSource::new(name, text.into()).with_language("toml")),
        }
    }

    pub fn name(&self) -> &str {
        self.inner.name()
    }

    pub fn text(&self) -> &str {
        self.inner.inner()
    }
}

impl SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        self.inner
            .read_span(span, context_lines_before, context_lines_after)
    }
}
