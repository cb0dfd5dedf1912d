//! A problem found while inspecting the systems, pointing at the manifest
//! value that caused it when there is one.

use std::fmt;
use std::ops::Range;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use crate::manifest::SourceFile;

/// A problem that stops planning.
#[derive(Debug, Clone)]
pub struct InspectError {
    pub message: String,
    pub help: Option<String>,
    /// The manifest, a value in it that caused the problem, and a label.
    at: Option<(SourceFile, Range<usize>, String)>,
}

impl InspectError {
    pub(in crate::plan) fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: Some(help.into()),
            at: None,
        }
    }

    /// Points at `span` of the manifest `file`, when the value is written.
    pub(in crate::plan) fn at(
        mut self,
        file: &SourceFile,
        span: Option<Range<usize>>,
        label: impl Into<String>,
    ) -> Self {
        self.at = span.map(|span| (file.clone(), span, label.into()));
        self
    }
}

impl fmt::Display for InspectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InspectError {}

impl Diagnostic for InspectError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("replicate::inspect"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.at.as_ref().map(|(file, _, _)| file as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (_, span, label) = self.at.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(label.clone()),
            span.clone(),
        ))))
    }
}
