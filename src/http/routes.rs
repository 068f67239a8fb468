//! Which methods each documented path answers, from the OpenAPI document: a
//! request that matches a path but not a method gets 405 with `Allow`
//! instead of 404.

use std::sync::LazyLock;

use utoipa::openapi::OpenApi;

/// One documented path template and its methods.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    /// Segments; `None` for a `{parameter}`.
    segments: Vec<Option<String>>,
    /// Upper-case methods, sorted.
    methods: Vec<&'static str>,
}

/// Every documented path with its methods.
#[derive(Debug, Clone, Default)]
pub struct Routes(Vec<Route>);

impl Routes {
    /// The paths and methods of `api`.
    pub fn of(api: &OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .trim_matches('/')
                    .split('/')
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect();
                let mut methods: Vec<&'static str> = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("OPTIONS", item.options.is_some()),
                    ("HEAD", item.head.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                methods.sort_unstable();
                Route { segments, methods }
            })
            .collect();
        Self(routes)
    }

    /// The routes of the service's own document (computed once).
    pub fn documented() -> &'static Routes {
        static ROUTES: LazyLock<Routes> = LazyLock::new(|| Routes::of(&crate::openapi::generate()));
        &ROUTES
    }

    /// The methods `path` answers, if it is a documented path: the union over
    /// the templates it matches, sorted.
    pub fn allowed(&self, path: &str) -> Option<Vec<&'static str>> {
        let parts: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        let mut methods: Vec<&'static str> = self
            .0
            .iter()
            .filter(|r| {
                r.segments.len() == parts.len()
                    && r.segments.iter().zip(&parts).all(|(s, p)| match s {
                        Some(literal) => literal == p,
                        None => !p.is_empty(),
                    })
            })
            .flat_map(|r| r.methods.iter().copied())
            .collect();
        if methods.is_empty() {
            return None;
        }
        methods.sort_unstable();
        methods.dedup();
        Some(methods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_paths_know_their_methods() {
        let routes = Routes::documented();
        let cases: [(&str, Option<&[&str]>); 7] = [
            ("/api/v1/flags", Some(&["GET", "POST"])),
            ("/api/v1/flags/cta_copy", Some(&["DELETE", "GET", "PUT"])),
            ("/api/v1/evaluate", Some(&["POST"])),
            ("/api/v1/experiments/x/results", Some(&["GET"])),
            ("/api/v1/flags/", None),
            ("/api/v1/nothing", None),
            ("/healthz/extra", None),
        ];
        for (path, want) in cases {
            assert_eq!(routes.allowed(path).as_deref(), want, "{path}");
        }
    }
}
