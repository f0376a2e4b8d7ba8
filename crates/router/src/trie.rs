//! The compiled segment trie and its backtracking walk.

use ahash::RandomState;
use hashbrown::HashMap;
use smallvec::SmallVec;

use crate::RouteId;
use crate::key::{RouteMethod, Segment};

/// Parameters collected while walking; names borrow the trie, values borrow the request path.
pub(crate) type ParamVec<'r, 'p> = SmallVec<[(&'r str, &'p str); 4]>;

/// The routes declared on one resource: one slot per [`RouteMethod`], `Any` last.
#[derive(Debug, Default)]
pub(crate) struct Endpoint {
    slots: [Option<RouteId>; RouteMethod::ALL.len()],
}

impl Endpoint {
    /// Whether any route is declared on this resource.
    fn is_resource(&self) -> bool {
        self.slots.iter().any(Option::is_some)
    }

    /// The route for a request method: the explicit one, else `ANY`.
    /// `method` is `None` for request methods no route key can name (they only match `ANY`).
    fn pick(&self, method: Option<RouteMethod>) -> Option<RouteId> {
        method
            .and_then(|m| self.slots[m.slot()])
            .or(self.slots[RouteMethod::Any.slot()])
    }
}

#[derive(Debug)]
struct ParamChild {
    name: Box<str>,
    /// The route that introduced this parameter name, for conflict messages.
    origin: RouteId,
    node: Node,
}

#[derive(Debug)]
struct GreedyChild {
    name: Box<str>,
    origin: RouteId,
    endpoint: Endpoint,
}

/// One resource path prefix. Children are tried literal first, then `{param}`, then `{greedy+}`.
#[derive(Debug, Default)]
pub(crate) struct Node {
    literals: HashMap<Box<str>, Node, RandomState>,
    param: Option<Box<ParamChild>>,
    greedy: Option<Box<GreedyChild>>,
    endpoint: Endpoint,
}

/// Where a route key was inserted, for conflict messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InsertError {
    /// Same method on the same resource as an earlier route.
    Duplicate(RouteId),
    /// A sibling parameter at this position already has another name.
    ParamName {
        existing: Box<str>,
        ours: Box<str>,
        origin: RouteId,
    },
}

/// How a resource reached by the walk is judged.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    /// REST: the first (most specific) resource that exists wins, whatever its methods.
    Resource,
    /// HTTP: a resource only counts if it has a route for the method; otherwise keep looking.
    Method,
}

/// The outcome of a successful walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hit {
    Route(RouteId),
    /// REST only: the resource exists but has no route for the method.
    NoMethod,
}

impl Node {
    /// Inserts `id` at the resource `segments` for `method`.
    pub(crate) fn insert(
        &mut self,
        segments: &[Segment<'_>],
        method: RouteMethod,
        id: RouteId,
    ) -> Result<(), InsertError> {
        let mut node = self;
        for (i, seg) in segments.iter().enumerate() {
            match *seg {
                Segment::Literal(lit) => {
                    node = node.literals.entry(Box::from(lit)).or_default();
                }
                Segment::Param(name) => {
                    let child = node.param.get_or_insert_with(|| {
                        Box::new(ParamChild {
                            name: name.into(),
                            origin: id,
                            node: Node::default(),
                        })
                    });
                    if &*child.name != name {
                        return Err(InsertError::ParamName {
                            existing: child.name.clone(),
                            ours: name.into(),
                            origin: child.origin,
                        });
                    }
                    node = &mut child.node;
                }
                Segment::Greedy(name) => {
                    debug_assert_eq!(i + 1, segments.len(), "greedy must be last");
                    let child = node.greedy.get_or_insert_with(|| {
                        Box::new(GreedyChild {
                            name: name.into(),
                            origin: id,
                            endpoint: Endpoint::default(),
                        })
                    });
                    if &*child.name != name {
                        return Err(InsertError::ParamName {
                            existing: child.name.clone(),
                            ours: name.into(),
                            origin: child.origin,
                        });
                    }
                    return claim(&mut child.endpoint, method, id);
                }
            }
        }
        claim(&mut node.endpoint, method, id)
    }

    /// Depth-first walk. `rest` is the request path after the `/` that ended the previous
    /// segment; `None` means the path is fully consumed and this node is the candidate.
    pub(crate) fn walk<'r, 'p>(
        &'r self,
        rest: Option<&'p str>,
        method: Option<RouteMethod>,
        mode: Mode,
        params: &mut ParamVec<'r, 'p>,
    ) -> Option<Hit> {
        let Some(rest) = rest else {
            return judge(&self.endpoint, method, mode);
        };
        let (seg, tail) = match rest.split_once('/') {
            Some((seg, tail)) => (seg, Some(tail)),
            None => (rest, None),
        };
        if let Some(child) = self.literals.get(seg)
            && let Some(hit) = child.walk(tail, method, mode, params)
        {
            return Some(hit);
        }
        if seg.is_empty() {
            // An empty segment matches neither a parameter nor a greedy parameter.
            return None;
        }
        if let Some(child) = &self.param {
            let mark = params.len();
            params.push((&child.name, seg));
            if let Some(hit) = child.node.walk(tail, method, mode, params) {
                return Some(hit);
            }
            params.truncate(mark);
        }
        if let Some(greedy) = &self.greedy
            && !rest.contains("//")
            && !rest.ends_with('/')
            && let Some(hit) = judge(&greedy.endpoint, method, mode)
        {
            params.push((&greedy.name, rest));
            return Some(hit);
        }
        None
    }
}

fn judge(endpoint: &Endpoint, method: Option<RouteMethod>, mode: Mode) -> Option<Hit> {
    match mode {
        Mode::Method => endpoint.pick(method).map(Hit::Route),
        Mode::Resource if endpoint.is_resource() => {
            Some(endpoint.pick(method).map_or(Hit::NoMethod, Hit::Route))
        }
        Mode::Resource => None,
    }
}

fn claim(endpoint: &mut Endpoint, method: RouteMethod, id: RouteId) -> Result<(), InsertError> {
    let slot = &mut endpoint.slots[method.slot()];
    match *slot {
        Some(earlier) => Err(InsertError::Duplicate(earlier)),
        None => {
            *slot = Some(id);
            Ok(())
        }
    }
}
