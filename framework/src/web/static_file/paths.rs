//! Where a static path leads, and whether it may be served: Tornado's
//! `get_absolute_path` and `validate_absolute_path`.

use std::fs::{self, Metadata};
use std::path::{Component, Path, PathBuf};

use super::{forbidden, StaticFileHandler};
use crate::web::urls::is_protocol_relative;
use crate::web::{HTTPError, Handler, Result};

/// `path` made absolute (against the working directory) and normalized
/// without touching the filesystem: `.` dropped, `..` taking off the
/// component before it (never past `/`), repeated and trailing slashes gone.
///
/// # Tornado
/// Python's `os.path.abspath`.
pub(super) fn abspath(path: &Path) -> PathBuf {
    let joined;
    let path = if path.is_absolute() {
        path
    } else {
        // Only fails without a working directory; the path is then kept
        // relative, and fails the checks against the (also relative) root
        // as written, or is not found.
        joined = std::env::current_dir().map_or_else(|_| path.to_owned(), |cwd| cwd.join(path));
        &joined
    };
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other.as_os_str()),
        }
    }
    normal
}

impl StaticFileHandler {
    /// Where `path` (relative to `root`, as in a URL) is, checked to be
    /// inside `root` as written (`../` cannot leave it; symlinks are
    /// checked when serving).
    ///
    /// # Errors
    /// 403 if the path leads outside `root`.
    ///
    /// # Tornado
    /// `StaticFileHandler.get_absolute_path(root, path)` (6.6: with the
    /// check).
    pub fn get_absolute_path(root: &Path, path: &str) -> Result<PathBuf> {
        // `join` replaces the root with an absolute `path`, as Python's does;
        // the check below then refuses it.
        let absolute = abspath(&root.join(path));
        check_in_root(root, &absolute, path)?;
        Ok(absolute)
    }
}

/// 403 unless `absolute` is `root` or below it (component by component, so
/// `/www2` is not inside `/www`). Returns the normalized root.
///
/// # Tornado
/// `StaticFileHandler._check_in_root`.
fn check_in_root(root: &Path, absolute: &Path, path: &str) -> Result<PathBuf> {
    let root = abspath(root);
    if !absolute.starts_with(&root) {
        return Err(forbidden(format!("{path} is not in root static directory")));
    }
    Ok(root)
}

/// `absolute` with every symlink resolved, which must stay inside
/// `allowed` (the root, resolved). 404 if it cannot be resolved (it does
/// not exist, or a link dangles).
///
/// # Tornado
/// `StaticFileHandler._resolve_symlink_target`. Python's `realpath` is not
/// strict, so there a dangling link pointing outside the root is a 403.
fn resolve_symlinks(absolute: &Path, allowed: &Path, path: &str) -> Result<PathBuf> {
    let Ok(resolved) = fs::canonicalize(absolute) else {
        return Err(HTTPError::new(404).into());
    };
    if !resolved.starts_with(allowed) {
        // The same error as for `../`: a client cannot tell which way the
        // path left the directory.
        return Err(forbidden(format!("{path} is not in root static directory")));
    }
    Ok(resolved)
}

/// The file to serve for `path` below `root`, and its metadata (taken
/// once, so the headers describe the file that was checked); `None` when
/// the request was redirected instead (a directory, with a default file
/// name, asked for without its trailing slash).
///
/// # Errors
/// 403 for a path outside the root (as written or through a symlink), a
/// directory without `default_filename`, or anything but a regular file;
/// 404 for a path that does not exist.
///
/// # Tornado
/// `StaticFileHandler.validate_absolute_path(root, absolute_path)` after
/// `get_absolute_path`; the root is the only allowed symlink directory.
pub(super) fn validate(
    cx: &mut Handler,
    root: &Path,
    path: &str,
    default_filename: Option<&str>,
) -> Result<Option<(PathBuf, Metadata)>> {
    let absolute = StaticFileHandler::get_absolute_path(root, path)?;
    let root = abspath(root);
    // The root may itself be reached through a symlink (/var/www → /srv/www).
    let allowed = fs::canonicalize(&root).unwrap_or(root);
    let mut absolute = resolve_symlinks(&absolute, &allowed, path)?;
    if let Some(default_filename) = default_filename.filter(|_| absolute.is_dir()) {
        // The request's path, not `path`: the route's prefix is before it.
        if !cx.request.path.ends_with('/') {
            if is_protocol_relative(&cx.request.path) {
                // `//host/dir` + `/` would send the browser to another host.
                return Err(forbidden(
                    "cannot redirect path with two initial slashes".to_owned(),
                ));
            }
            let to = format!("{}/", cx.request.path);
            cx.redirect(&to, true)?;
            return Ok(None);
        }
        // The default file may be a symlink itself: resolved and checked.
        absolute = resolve_symlinks(&absolute.join(default_filename), &allowed, path)?;
    }
    let Ok(meta) = fs::metadata(&absolute) else {
        return Err(HTTPError::new(404).into());
    };
    // Directories, devices, FIFOs and sockets are never read: some never
    // end, and opening a FIFO blocks until it has a writer.
    if !meta.is_file() {
        return Err(forbidden(format!("{path} is not a file")));
    }
    Ok(Some((absolute, meta)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abspath_is_pythons() {
        for (path, expected) in [
            ("/www/a/../b", "/www/b"),
            ("/www/./a//b/", "/www/a/b"),
            ("/www/../../..", "/"),
            ("/", "/"),
        ] {
            assert_eq!(abspath(Path::new(path)), Path::new(expected), "{path}");
        }
        assert!(abspath(Path::new("rel")).is_absolute());
    }

    #[test]
    fn absolute_paths_stay_in_the_root() {
        let root = Path::new("/www");
        let ok = |p: &str| StaticFileHandler::get_absolute_path(root, p).ok();
        assert_eq!(ok("a/b.css"), Some(PathBuf::from("/www/a/b.css")));
        assert_eq!(ok(""), Some(PathBuf::from("/www")));
        assert_eq!(ok("a/../b"), Some(PathBuf::from("/www/b")));
        for outside in ["../etc/passwd", "/etc/passwd", "a/../../www2/x", ".."] {
            assert!(ok(outside).is_none(), "{outside}");
        }
    }
}
