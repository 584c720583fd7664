//! Versioned static URLs: the content hash of a file, cached per path.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha512};

use super::StaticFileHandler;
use crate::escape::hex;
use crate::web::{Error, Handler, Result, Settings};

/// Versions by absolute path, with a use stamp for evicting the least
/// recently used. Process-wide, as Tornado's class attribute is: every
/// application and thread shares it (it holds hashes of files, nothing
/// per application).
static VERSIONS: Mutex<Versions> = Mutex::new(Versions {
    by_path: None,
    clock: 0,
});

struct Versions {
    /// `None` until first used (a `HashMap` cannot be built in a `static`).
    by_path: Option<HashMap<PathBuf, (Option<String>, u64)>>,
    /// Stamps uses: the entry with the smallest stamp is the least recent.
    clock: u64,
}

/// The `static_url_prefix` setting, or Tornado's default `/static/`.
pub(crate) fn static_url_prefix(settings: &Settings) -> &str {
    settings.static_url_prefix.as_deref().unwrap_or("/static/")
}

/// The `static_hash_cache` setting: versions are cached unless it is off
/// (by default it is off in `debug` mode, as in Tornado).
pub(crate) fn static_hash_cache(settings: &Settings) -> bool {
    settings.static_hash_cache.unwrap_or(!settings.debug)
}

/// The version of the file at `absolute`, from the cache when `use_cache`
/// (else computed again, and the cache left alone). `None` (logged) if it
/// cannot be read, is not a regular file, or is too large to hash.
///
/// # Tornado
/// `StaticFileHandler._get_cached_version(abs_path)`. Where Tornado's
/// `static_hash_cache=False` empties the cache at every request, here the
/// cache is not used.
pub(super) fn cached_version(absolute: &Path, use_cache: bool) -> Option<String> {
    let compute = || match StaticFileHandler::get_content_version(absolute) {
        Ok(version) => Some(version),
        Err(err) => {
            log::error!(target: "tornado.general", "Could not open static file {absolute:?}: {err}");
            None
        }
    };
    if !use_cache {
        return compute();
    }
    if let Some(version) = lock_versions().lookup(absolute) {
        return version;
    }
    // Hashed without the lock, so that one large file does not hold up
    // every thread's static requests (Tornado holds it, under the GIL
    // anyway); two threads asking at once both hash it, the same answer.
    let version = compute();
    lock_versions().insert(absolute, version.clone());
    version
}

/// The version cache. A panic elsewhere while holding the lock leaves the
/// map consistent (every update is a single insert or remove).
fn lock_versions() -> std::sync::MutexGuard<'static, Versions> {
    VERSIONS.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Versions {
    /// The cached version of `absolute`, marked as just used.
    fn lookup(&mut self, absolute: &Path) -> Option<Option<String>> {
        self.clock += 1;
        let now = self.clock;
        let (version, used) = self.by_path.as_mut()?.get_mut(absolute)?;
        *used = now;
        Some(version.clone())
    }

    /// Caches `version`, evicting the least recently used entries past
    /// [`StaticFileHandler::MAX_CACHED_VERSIONS`].
    fn insert(&mut self, absolute: &Path, version: Option<String>) {
        self.clock += 1;
        let now = self.clock;
        let by_path = self.by_path.get_or_insert_with(HashMap::new);
        while by_path.len() >= StaticFileHandler::MAX_CACHED_VERSIONS {
            let oldest = by_path.iter().min_by_key(|(_, (_, used))| *used);
            let Some(oldest) = oldest.map(|(path, _)| path.clone()) else {
                break;
            };
            by_path.remove(&oldest);
        }
        by_path.insert(absolute.to_owned(), (version, now));
    }
}

impl StaticFileHandler {
    /// The version of a file: the hex SHA-512 of its content.
    ///
    /// # Errors
    /// The file cannot be read, is not a regular file, or is larger than
    /// [`MAX_VERSION_CONTENT_SIZE`](Self::MAX_VERSION_CONTENT_SIZE).
    ///
    /// # Tornado
    /// `StaticFileHandler.get_content_version(abspath)`.
    pub fn get_content_version(abspath: &Path) -> io::Result<String> {
        let mut file = File::open(abspath)?;
        let metadata = file.metadata()?;
        if !metadata.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        // Refused before reading: a larger file would be read up to the
        // limit (on the loop's thread) on every use with the cache off.
        if metadata.len() > StaticFileHandler::MAX_VERSION_CONTENT_SIZE {
            return Err(too_large());
        }
        let mut hasher = Sha512::new();
        let mut buf = vec![0; super::CHUNK_SIZE];
        let mut size = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            size += n as u64;
            // The file may grow while it is read.
            if size > StaticFileHandler::MAX_VERSION_CONTENT_SIZE {
                return Err(too_large());
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        Ok(hex(&hasher.finalize()))
    }

    /// The version for static file `path` (relative to the `static_path`
    /// setting), cached unless `static_hash_cache` is off; `None` if the
    /// file has none (missing, not a file, too large).
    ///
    /// `path` should name one of the application's own files (a literal in
    /// a template, say), not come from the request: computing a version
    /// reads the file, and each path takes a cache entry.
    ///
    /// # Errors
    /// The application has no `static_path` (a 500), or `path` leads
    /// outside it (a 403).
    ///
    /// # Tornado
    /// `StaticFileHandler.get_version(settings, path)`.
    pub fn get_version(settings: &Settings, path: &str) -> Result<Option<String>> {
        let root = static_path(settings)?;
        let absolute = StaticFileHandler::get_absolute_path(root, path)?;
        Ok(cached_version(&absolute, static_hash_cache(settings)))
    }

    /// The URL of static file `path`: the `static_url_prefix` (default
    /// `/static/`), the path, and `?v=<version>` when `include_version`
    /// and the file has one.
    ///
    /// # Errors
    /// As [`get_version`](Self::get_version).
    ///
    /// # Tornado
    /// `StaticFileHandler.make_static_url(settings, path, include_version=True)`.
    pub fn make_static_url(
        settings: &Settings,
        path: &str,
        include_version: bool,
    ) -> Result<String> {
        let url = format!("{}{path}", static_url_prefix(settings));
        if !include_version {
            return Ok(url);
        }
        Ok(match StaticFileHandler::get_version(settings, path)? {
            Some(version) => format!("{url}?v={version}"),
            None => url,
        })
    }

    /// Forgets every cached version (files are hashed again when next
    /// asked for).
    ///
    /// # Tornado
    /// `StaticFileHandler.reset()`.
    pub fn reset() {
        VERSIONS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_path = None;
    }
}

/// The `static_path` setting, or Tornado's error for its absence.
fn static_path(settings: &Settings) -> Result<&Path> {
    match settings.static_path.as_deref() {
        Some(path) if !path.as_os_str().is_empty() => Ok(path),
        _ => Err(Error::Other(
            "You must define the 'static_path' setting in your application to use static_url"
                .into(),
        )),
    }
}

impl Handler {
    /// A versioned URL for static file `path` (relative to the
    /// `static_path` setting): `/static/path?v=<version>`, which a browser
    /// may cache for ever (the version changes with the content). The
    /// version is cached per path; see [`StaticFileHandler::get_version`]
    /// for which paths to pass.
    ///
    /// # Errors
    /// No `static_path` setting (a 500), or `path` leads outside it (a 403).
    ///
    /// ```
    /// use tornado::web::{Handler, RequestHandler, Result};
    ///
    /// struct Page;
    ///
    /// impl RequestHandler for Page {
    ///     async fn get(&mut self, cx: &mut Handler) -> Result {
    ///         let css = cx.static_url("site.css")?;
    ///         cx.write(format!(r#"<link rel="stylesheet" href="{css}">"#))
    ///     }
    /// }
    /// # let _ = Page;
    /// ```
    ///
    /// # Tornado
    /// `RequestHandler.static_url(path)`.
    pub fn static_url(&self, path: &str) -> Result<String> {
        self.static_url_with(path, false, true)
    }

    /// [`static_url`](Handler::static_url) with Tornado's options:
    /// `include_host` makes the URL absolute (`http://host/static/...`, the
    /// request's protocol and host); without `include_version` there is no
    /// `?v=`.
    ///
    /// # Tornado
    /// `RequestHandler.static_url(path, include_host=..., include_version=...)`.
    pub fn static_url_with(
        &self,
        path: &str,
        include_host: bool,
        include_version: bool,
    ) -> Result<String> {
        let url = StaticFileHandler::make_static_url(self.settings(), path, include_version)?;
        Ok(if include_host {
            format!("{}://{}{url}", self.request.protocol, self.request.host)
        } else {
            url
        })
    }
}

fn too_large() -> io::Error {
    io::Error::other(format!(
        "content is larger than MAX_VERSION_CONTENT_SIZE ({} bytes)",
        StaticFileHandler::MAX_VERSION_CONTENT_SIZE
    ))
}
