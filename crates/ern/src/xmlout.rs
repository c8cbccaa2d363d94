//! A small indenting XML writer over quick-xml: the one every Liner message writer (ERN,
//! choreography manifests and acknowledgements) uses, so escaping and layout are the same.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

pub struct XmlOut {
    w: Writer<Vec<u8>>,
}

impl std::fmt::Debug for XmlOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("XmlOut")
    }
}

impl XmlOut {
    pub fn new(capacity: usize) -> XmlOut {
        XmlOut {
            w: Writer::new_with_indent(Vec::with_capacity(capacity), b' ', 2),
        }
    }

    // Writing into a Vec<u8> cannot fail, so the io::Results below are dropped on purpose.
    pub fn ev(&mut self, e: Event<'_>) {
        let _ = self.w.write_event(e);
    }

    pub fn open(&mut self, name: &str) {
        self.ev(Event::Start(BytesStart::new(name)));
    }

    pub fn open_a(&mut self, name: &str, attrs: &[(&str, &str)]) {
        let mut s = BytesStart::new(name);
        for a in attrs {
            s.push_attribute(*a);
        }
        self.ev(Event::Start(s));
    }

    pub fn close(&mut self, name: &str) {
        self.ev(Event::End(BytesEnd::new(name)));
    }

    pub fn leaf(&mut self, name: &str, text: &str) {
        self.open(name);
        self.ev(Event::Text(BytesText::new(text)));
        self.close(name);
    }

    pub fn leaf_a(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open_a(name, attrs);
        self.ev(Event::Text(BytesText::new(text)));
        self.close(name);
    }

    pub fn opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.leaf(name, t);
        }
    }

    pub fn finish(self) -> Vec<u8> {
        let mut out = self.w.into_inner();
        out.push(b'\n');
        out
    }
}

/// A document that starts with the XML declaration.
pub fn document(capacity: usize) -> XmlOut {
    let mut x = XmlOut::new(capacity);
    x.ev(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    x
}
