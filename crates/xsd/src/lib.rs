//! XSD validation of DDEX messages with libxml2, in process.
//!
//! Why our own binding and not the `libxml` crate: that crate regenerates its bindings with
//! bindgen at build time, which needs libclang on every build machine and a slow extra
//! compile; validation needs eight libxml2 functions. This crate is the workspace's one
//! `unsafe` boundary (see its Cargo.toml), kept small enough to read in one sitting.
//!
//! - A schema is compiled once per process (ERN 4.3 with its 3 MB AVS takes ~0.1 s) and kept
//!   for the life of the process; validations against it are serialised with a mutex, because
//!   libxml2 does not document its validation contexts as thread-safe.
//! - Documents are parsed with `XML_PARSE_NONET` and without entity substitution or DTD
//!   loading: a message cannot make the validator read files or the network, or expand
//!   entities. Liner's own reader refuses DTDs outright before this is reached.
//! - Every error comes back with its line (and column where libxml2 knows it) and message.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// One problem libxml2 reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XsdError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl std::fmt::Display for XsdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column > 0 {
            write!(f, "line {}:{}: {}", self.line, self.column, self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("schema {path} not found")]
    Missing { path: PathBuf },
    #[error("schema {path} does not compile: {}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Compile {
        path: PathBuf,
        errors: Vec<XsdError>,
    },
    #[error("document too large for libxml2 ({0} bytes)")]
    TooLarge(usize),
}

/// A compiled schema, shared by every caller in the process.
#[derive(Debug, Clone)]
pub struct Schema {
    inner: Arc<Mutex<Compiled>>,
    path: PathBuf,
}

impl Schema {
    /// The compiled schema at `path`, compiling it on first use in this process.
    pub fn load(path: &Path) -> Result<Schema, SchemaError> {
        static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<Compiled>>>>> = OnceLock::new();
        let key = path.canonicalize().map_err(|_| SchemaError::Missing {
            path: path.to_owned(),
        })?;
        let cache = CACHE.get_or_init(Default::default);
        let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(&key) {
            return Ok(Schema {
                inner: c.clone(),
                path: key,
            });
        }
        let compiled = Arc::new(Mutex::new(Compiled::compile(&key)?));
        map.insert(key.clone(), compiled.clone());
        Ok(Schema {
            inner: compiled,
            path: key,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Validates a whole document held in memory. `Ok(errors)`: empty means valid.
    pub fn validate(&self, xml: &[u8]) -> Result<Vec<XsdError>, SchemaError> {
        let size = c_int::try_from(xml.len()).map_err(|_| SchemaError::TooLarge(xml.len()))?;
        let compiled = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Ok(compiled.validate(xml, size))
    }
}

// ------------------------------------------------------------------ the FFI boundary

#[repr(C)]
struct XmlError {
    domain: c_int,
    code: c_int,
    message: *const c_char,
    level: c_int,
    file: *const c_char,
    line: c_int,
    str1: *const c_char,
    str2: *const c_char,
    str3: *const c_char,
    int1: c_int,
    int2: c_int,
    ctxt: *mut c_void,
    node: *mut c_void,
}

type StructuredErrorFn = unsafe extern "C" fn(*mut c_void, *const XmlError);

#[link(name = "xml2")]
unsafe extern "C" {
    fn xmlInitParser();
    fn xmlSchemaNewParserCtxt(url: *const c_char) -> *mut c_void;
    fn xmlSchemaSetParserStructuredErrors(
        ctxt: *mut c_void,
        f: Option<StructuredErrorFn>,
        data: *mut c_void,
    );
    fn xmlSchemaParse(ctxt: *mut c_void) -> *mut c_void;
    fn xmlSchemaFreeParserCtxt(ctxt: *mut c_void);
    fn xmlSchemaNewValidCtxt(schema: *mut c_void) -> *mut c_void;
    fn xmlSchemaSetValidStructuredErrors(
        ctxt: *mut c_void,
        f: Option<StructuredErrorFn>,
        data: *mut c_void,
    );
    fn xmlSchemaValidateDoc(ctxt: *mut c_void, doc: *mut c_void) -> c_int;
    fn xmlSetStructuredErrorFunc(data: *mut c_void, f: Option<StructuredErrorFn>);
    fn xmlReadMemory(
        buf: *const c_char,
        size: c_int,
        url: *const c_char,
        encoding: *const c_char,
        options: c_int,
    ) -> *mut c_void;
    fn xmlFreeDoc(doc: *mut c_void);
}

const XML_PARSE_NONET: c_int = 1 << 11;
const XML_PARSE_NOERROR: c_int = 1 << 5;
const XML_PARSE_NOWARNING: c_int = 1 << 6;
const XML_ERR_WARNING: c_int = 1;

/// Collects libxml2's structured errors into the `Vec<XsdError>` behind `data`.
unsafe extern "C" fn collect(data: *mut c_void, err: *const XmlError) {
    if data.is_null() || err.is_null() {
        return;
    }
    // SAFETY: `data` is the `&mut Vec<XsdError>` we registered for the duration of one call
    // (see `with_errors`), and libxml2 passes a valid error for the duration of the callback.
    let (errors, err) = unsafe { (&mut *(data as *mut Vec<XsdError>), &*err) };
    if err.level == XML_ERR_WARNING {
        return;
    }
    let message = if err.message.is_null() {
        format!("libxml2 error {}", err.code)
    } else {
        // SAFETY: libxml2's message is a NUL-terminated C string valid during the callback.
        unsafe { CStr::from_ptr(err.message) }
            .to_string_lossy()
            .trim_end()
            .to_owned()
    };
    errors.push(XsdError {
        line: u32::try_from(err.line).unwrap_or(0),
        column: u32::try_from(err.int2).unwrap_or(0),
        message,
    });
}

struct Compiled {
    schema: *mut c_void,
    valid: *mut c_void,
}

// SAFETY: the pointers are only used while holding the mutex around `Compiled`, so libxml2
// sees one thread at a time; the schema is never freed (it lives for the process).
unsafe impl Send for Compiled {}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Compiled")
    }
}

fn init() {
    static INIT: OnceLock<()> = OnceLock::new();
    // SAFETY: xmlInitParser is idempotent and must run once before threaded use.
    INIT.get_or_init(|| unsafe { xmlInitParser() });
}

impl Compiled {
    fn compile(path: &Path) -> Result<Compiled, SchemaError> {
        init();
        let missing = || SchemaError::Missing {
            path: path.to_owned(),
        };
        let c_path = CString::new(path.to_str().ok_or_else(missing)?).map_err(|_| missing())?;
        let mut errors: Vec<XsdError> = Vec::new();
        // SAFETY: plain libxml2 calls; the error vector outlives the parser context, whose
        // handler is the last use of it (the context is freed before we return).
        let schema = unsafe {
            let pctxt = xmlSchemaNewParserCtxt(c_path.as_ptr());
            if pctxt.is_null() {
                return Err(missing());
            }
            xmlSchemaSetParserStructuredErrors(
                pctxt,
                Some(collect),
                &mut errors as *mut Vec<XsdError> as *mut c_void,
            );
            let schema = xmlSchemaParse(pctxt);
            xmlSchemaFreeParserCtxt(pctxt);
            schema
        };
        if schema.is_null() || !errors.is_empty() {
            return Err(SchemaError::Compile {
                path: path.to_owned(),
                errors,
            });
        }
        // SAFETY: schema is a valid compiled schema.
        let valid = unsafe { xmlSchemaNewValidCtxt(schema) };
        if valid.is_null() {
            return Err(SchemaError::Compile {
                path: path.to_owned(),
                errors: vec![XsdError {
                    line: 0,
                    column: 0,
                    message: "libxml2 could not create a validation context".into(),
                }],
            });
        }
        Ok(Compiled { schema, valid })
    }

    fn validate(&self, xml: &[u8], size: c_int) -> Vec<XsdError> {
        let _ = self.schema;
        let mut errors: Vec<XsdError> = Vec::new();
        let data = &mut errors as *mut Vec<XsdError> as *mut c_void;
        // SAFETY: `xml` outlives the parse; the handlers point at `errors` only during this
        // block and are unregistered before it ends; the document is freed exactly once.
        unsafe {
            xmlSetStructuredErrorFunc(data, Some(collect));
            let doc = xmlReadMemory(
                xml.as_ptr() as *const c_char,
                size,
                c"message.xml".as_ptr(),
                std::ptr::null(),
                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING,
            );
            xmlSetStructuredErrorFunc(std::ptr::null_mut(), None);
            if doc.is_null() {
                if errors.is_empty() {
                    errors.push(XsdError {
                        line: 0,
                        column: 0,
                        message: "not well-formed XML".into(),
                    });
                }
                return errors;
            }
            xmlSchemaSetValidStructuredErrors(self.valid, Some(collect), data);
            let rc = xmlSchemaValidateDoc(self.valid, doc);
            xmlSchemaSetValidStructuredErrors(self.valid, None, std::ptr::null_mut());
            xmlFreeDoc(doc);
            if rc != 0 && errors.is_empty() {
                errors.push(XsdError {
                    line: 0,
                    column: 0,
                    message: format!("schema validation failed (libxml2 status {rc})"),
                });
            }
        }
        errors
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn shared() -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ddex");
        if p.is_dir() {
            Some(p)
        } else {
            assert!(
                std::env::var("CI").is_err(),
                "../shared/ddex is missing and CI=true: the XSD tests must run"
            );
            None
        }
    }

    #[test]
    fn valid_sample_passes_and_invalid_names_line_and_element() {
        let Some(dir) = shared() else { return };
        let s43 = Schema::load(&dir.join("xsd/ern-4.3/release-notification.xsd")).unwrap();
        let ok = std::fs::read(dir.join("samples/ern43_official_1_Audio.xml")).unwrap();
        assert_eq!(s43.validate(&ok).unwrap(), vec![]);
        let s382 = Schema::load(&dir.join("xsd/ern-3.8.2/release-notification.xsd")).unwrap();
        let bad =
            std::fs::read(dir.join("samples/invalid/ern382_dedex_005_not_valid_xsd.xml")).unwrap();
        let errors = s382.validate(&bad).unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 31);
        assert!(errors[0].message.contains("FakeTag"), "{errors:?}");
        // The same schema object again: compiled once, reused.
        let again = Schema::load(&dir.join("xsd/ern-4.3/release-notification.xsd")).unwrap();
        assert!(Arc::ptr_eq(&again.inner, &s43.inner));
    }

    #[test]
    fn malformed_xml_is_an_error_with_a_line() {
        let Some(dir) = shared() else { return };
        let s = Schema::load(&dir.join("xsd/ern-4.3/release-notification.xsd")).unwrap();
        let errors = s.validate(b"<a>\n<b></a>").unwrap();
        assert!(!errors.is_empty());
        assert_eq!(errors[0].line, 2, "{errors:?}");
    }

    #[test]
    fn missing_schema_is_reported() {
        assert!(matches!(
            Schema::load(Path::new("/nonexistent/x.xsd")),
            Err(SchemaError::Missing { .. })
        ));
    }
}
