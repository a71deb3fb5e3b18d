//! Metric expressions: a small SQL-like language over a table's columns, e.g.
//! `score - 0.02 * len_words` or `is_correct AND NOT refusal`.
//!
//! Columns are named bare (`score`) or quoted (`"top p"`, `` `top p` ``); literals are numbers,
//! `'strings'`, `TRUE`, `FALSE`, `NULL`. Operators, loosest first: `OR`; `AND`; `NOT`;
//! comparisons `= == != <> < <= > >=`; `+ -`; `* / %`; unary `-`. Functions: `abs`, `sqrt`,
//! `ln`, `log10`, `exp`, `round`, `floor`, `ceil`, `least`, `greatest`, `coalesce`,
//! `if(cond, a, b)`. Missing values follow SQL: they propagate through arithmetic and
//! comparisons, and `AND`/`OR` use three-valued logic; division by zero gives a missing value.
//! Booleans count as 0/1 in arithmetic. The language reads columns and nothing else: there
//! is no way to name a file or run code.

use polars::prelude::{DataFrame, DataType, NamedFrom, Series};

/// A part of the expression's text: character offset and length (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub at: usize,
    pub len: usize,
}

impl Span {
    fn new(at: usize, len: usize) -> Span {
        Span {
            at,
            len: len.max(1),
        }
    }
}

/// A parse or evaluation error, pointing at the part of the expression it is about.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub message: String,
    /// The offending part of the expression.
    pub span: Span,
}

impl ExprError {
    fn new(message: impl Into<String>, at: usize, len: usize) -> Self {
        ExprError::at(message, Span::new(at, len))
    }

    fn at(message: impl Into<String>, span: Span) -> Self {
        ExprError {
            message: message.into(),
            span,
        }
    }

    /// The message, then the expression with the offending part underlined.
    pub fn render(&self, expr: &str) -> String {
        format!(
            "{}\n  {}\n  {}{}",
            self.message,
            expr,
            " ".repeat(self.span.at),
            "^".repeat(self.span.len)
        )
    }
}

/// A binary operator (`AND` and `OR` are written as words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    /// Binding power: higher binds tighter (`NOT` sits at 3, unary minus at 7).
    fn binding(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
            BinOp::Add | BinOp::Sub => 5,
            BinOp::Mul | BinOp::Div | BinOp::Rem => 6,
        }
    }

    /// How messages show the operator.
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "OR",
            BinOp::And => "AND",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }
}

impl std::fmt::Display for BinOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A prefix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    Quoted(String),
    Op(BinOp),
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    at: usize,
    len: usize,
}

fn tokenize(src: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                // Exponent sign: 1e-3
                if (chars[i] == 'e' || chars[i] == 'E')
                    && matches!(chars.get(i + 1), Some('+') | Some('-'))
                {
                    i += 1;
                }
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let v: f64 = text.parse().map_err(|_| {
                ExprError::new(format!("'{text}' is not a number"), start, i - start)
            })?;
            Tok::Num(v)
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            Tok::Ident(chars[start..i].iter().collect())
        } else if c == '\'' || c == '"' || c == '`' {
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => {
                        return Err(ExprError::new(
                            format!("unclosed {c}"),
                            start,
                            chars.len() - start,
                        ));
                    }
                    // A doubled quote stands for itself.
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => {
                        s.push(c);
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(&q) => {
                        s.push(q);
                        i += 1;
                    }
                }
            }
            if c == '\'' {
                Tok::Str(s)
            } else {
                Tok::Quoted(s)
            }
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op2 = match two.as_str() {
                "<=" => Some(BinOp::Le),
                ">=" => Some(BinOp::Ge),
                "!=" | "<>" => Some(BinOp::Ne),
                "==" => Some(BinOp::Eq),
                _ => None,
            };
            if let Some(op) = op2 {
                i += 2;
                Tok::Op(op)
            } else {
                i += 1;
                match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    ',' => Tok::Comma,
                    '+' => Tok::Op(BinOp::Add),
                    '-' => Tok::Op(BinOp::Sub),
                    '*' => Tok::Op(BinOp::Mul),
                    '/' => Tok::Op(BinOp::Div),
                    '%' => Tok::Op(BinOp::Rem),
                    '<' => Tok::Op(BinOp::Lt),
                    '>' => Tok::Op(BinOp::Gt),
                    '=' => Tok::Op(BinOp::Eq),
                    _ => return Err(ExprError::new(format!("unexpected '{c}'"), start, 1)),
                }
            }
        };
        out.push(Token {
            tok,
            at: start,
            len: i - start,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Node {
    Num(f64),
    Str(String),
    Bool(bool),
    Null,
    Col(String, Span),
    Unary(UnOp, Box<Node>, Span),
    Binary(BinOp, Box<Node>, Box<Node>, Span),
    Call(String, Vec<Node>, Span),
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn here(&self) -> (usize, usize) {
        self.peek().map(|t| (t.at, t.len)).unwrap_or((self.end, 1))
    }

    /// The binary operator at the cursor, if any (keywords AND / OR included).
    fn binary_op(&self) -> Option<BinOp> {
        match &self.peek()?.tok {
            Tok::Op(o) => Some(*o),
            Tok::Ident(w) if w.eq_ignore_ascii_case("and") => Some(BinOp::And),
            Tok::Ident(w) if w.eq_ignore_ascii_case("or") => Some(BinOp::Or),
            _ => None,
        }
    }

    fn expr(&mut self, min: u8) -> Result<Node, ExprError> {
        let mut left = self.prefix()?;
        while let Some(op) = self.binary_op() {
            let bp = op.binding();
            if bp < min {
                break;
            }
            let (at, len) = self.here();
            self.pos += 1;
            // Comparisons do not chain; everything else is left-associative.
            let right = self.expr(bp + 1)?;
            left = Node::Binary(op, Box::new(left), Box::new(right), Span::new(at, len));
        }
        Ok(left)
    }

    fn prefix(&mut self) -> Result<Node, ExprError> {
        let Some(t) = self.peek().cloned() else {
            let (at, len) = self.here();
            return Err(ExprError::new("expected a value, found the end", at, len));
        };
        self.pos += 1;
        Ok(match t.tok {
            Tok::Num(v) => Node::Num(v),
            Tok::Str(s) => Node::Str(s),
            Tok::Quoted(s) => Node::Col(s, Span::new(t.at, t.len)),
            Tok::Op(BinOp::Sub) => {
                Node::Unary(UnOp::Neg, Box::new(self.expr(7)?), Span::new(t.at, t.len))
            }
            Tok::Op(BinOp::Add) => self.expr(7)?,
            Tok::LParen => {
                let inner = self.expr(0)?;
                match self.peek() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => self.pos += 1,
                    _ => {
                        let (at, len) = self.here();
                        return Err(ExprError::new("expected ')'", at, len));
                    }
                }
                inner
            }
            Tok::Ident(w) => match w.to_ascii_lowercase().as_str() {
                "true" => Node::Bool(true),
                "false" => Node::Bool(false),
                "null" => Node::Null,
                "not" => Node::Unary(UnOp::Not, Box::new(self.expr(3)?), Span::new(t.at, t.len)),
                "and" | "or" => {
                    return Err(ExprError::new(
                        format!("'{w}' needs a value on its left"),
                        t.at,
                        t.len,
                    ));
                }
                _ if matches!(
                    self.peek(),
                    Some(Token {
                        tok: Tok::LParen,
                        ..
                    })
                ) =>
                {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if !matches!(
                        self.peek(),
                        Some(Token {
                            tok: Tok::RParen,
                            ..
                        })
                    ) {
                        loop {
                            args.push(self.expr(0)?);
                            match self.peek() {
                                Some(Token {
                                    tok: Tok::Comma, ..
                                }) => self.pos += 1,
                                _ => break,
                            }
                        }
                    }
                    match self.peek() {
                        Some(Token {
                            tok: Tok::RParen, ..
                        }) => self.pos += 1,
                        _ => {
                            let (at, len) = self.here();
                            return Err(ExprError::new("expected ',' or ')'", at, len));
                        }
                    }
                    Node::Call(w.to_ascii_lowercase(), args, Span::new(t.at, t.len))
                }
                _ => Node::Col(w, Span::new(t.at, t.len)),
            },
            other => {
                let shown = match other {
                    Tok::Op(o) => o.to_string(),
                    Tok::RParen => ")".into(),
                    Tok::Comma => ",".into(),
                    _ => "this".into(),
                };
                return Err(ExprError::new(
                    format!("expected a value, found '{shown}'"),
                    t.at,
                    t.len,
                ));
            }
        })
    }
}

/// A parsed expression, ready to evaluate against tables.
#[derive(Debug, Clone)]
pub struct Expr {
    root: Node,
}

/// The most tokens an expression may have. Parsing, evaluating and dropping recurse as deep
/// as the expression nests (up to one level per token), so a bound keeps the stack bounded:
/// ~8,500 nested "(" or a chain of 20,000 "1+" overflowed the 8 MB main stack (found by
/// fuzzing), and worker threads have 2 MB.
const MAX_TOKENS: usize = 1000;

impl Expr {
    pub fn parse(src: &str) -> Result<Expr, ExprError> {
        let toks = tokenize(src)?;
        if let Some(t) = toks.get(MAX_TOKENS) {
            return Err(ExprError::new(
                format!(
                    "the expression is too long: {} tokens (at most {MAX_TOKENS})",
                    toks.len()
                ),
                t.at,
                t.len,
            ));
        }
        let end = src.chars().count();
        let mut p = Parser { toks, pos: 0, end };
        let root = p.expr(0)?;
        if let Some(t) = p.peek() {
            return Err(ExprError::new(
                "unexpected text after the expression (missing an operator?)",
                t.at,
                t.len,
            ));
        }
        Ok(Expr { root })
    }

    /// The column names the expression reads.
    pub fn columns(&self) -> Vec<String> {
        fn walk(n: &Node, out: &mut Vec<String>) {
            match n {
                Node::Col(c, ..) if !out.contains(c) => out.push(c.clone()),
                Node::Unary(_, a, ..) => walk(a, out),
                Node::Binary(_, a, b, ..) => {
                    walk(a, out);
                    walk(b, out);
                }
                Node::Call(_, args, ..) => args.iter().for_each(|a| walk(a, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }

    /// Evaluate over every row of `frame`: a Float64 or Boolean series named `name`.
    pub fn eval(&self, frame: &DataFrame, name: &str) -> Result<Series, ExprError> {
        let n = frame.height();
        let v = eval(&self.root, frame, n)?;
        Ok(match v {
            Val::Num(v) => Series::new(name.into(), v),
            Val::Bool(v) => Series::new(name.into(), v),
            Val::Str(_) => {
                return Err(ExprError::new(
                    "the expression gives text; a metric must be a number or true/false",
                    0,
                    1,
                ));
            }
        })
    }
}

/// A column of values (scalars are broadcast to the table height).
enum Val {
    Num(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Str(Vec<Option<String>>),
}

impl Val {
    fn kind(&self) -> &'static str {
        match self {
            Val::Num(_) => "a number",
            Val::Bool(_) => "true/false",
            Val::Str(_) => "text",
        }
    }
}

fn column(frame: &DataFrame, name: &str, span: Span) -> Result<Val, ExprError> {
    let col = frame.column(name).map_err(|_| {
        let names: Vec<String> = frame
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let close = names
            .iter()
            .min_by_key(|c| strsim_distance(c, name))
            .filter(|c| strsim_distance(c, name) <= 2.max(name.len() / 3));
        let hint = match close {
            Some(c) => format!(" (did you mean '{c}'?)"),
            None => format!(" (columns: {})", names.join(", ")),
        };
        ExprError::at(format!("no column named '{name}'{hint}"), span)
    })?;
    let s = col.as_materialized_series();
    let dt = s.dtype();
    if dt.is_primitive_numeric() {
        let f = s
            .cast(&DataType::Float64)
            .map_err(|e| ExprError::at(e.to_string(), span))?;
        let ca = f.f64().map_err(|e| ExprError::at(e.to_string(), span))?;
        Ok(Val::Num(
            ca.iter().map(|v| v.filter(|x| x.is_finite())).collect(),
        ))
    } else if dt == &DataType::Boolean {
        let ca = s.bool().map_err(|e| ExprError::at(e.to_string(), span))?;
        Ok(Val::Bool(ca.iter().collect()))
    } else if dt == &DataType::String {
        let ca = s.str().map_err(|e| ExprError::at(e.to_string(), span))?;
        Ok(Val::Str(ca.iter().map(|v| v.map(str::to_string)).collect()))
    } else {
        Err(ExprError::at(
            format!("column '{name}' holds {dt}, which expressions cannot use"),
            span,
        ))
    }
}

/// Levenshtein distance, for "did you mean".
fn strsim_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn as_num(v: Val, span: Span, what: &str) -> Result<Vec<Option<f64>>, ExprError> {
    match v {
        Val::Num(v) => Ok(v),
        Val::Bool(v) => Ok(v.into_iter().map(|b| b.map(|b| b as u8 as f64)).collect()),
        Val::Str(_) => Err(ExprError::at(
            format!("{what} needs numbers, not text"),
            span,
        )),
    }
}

fn as_bool(v: Val, span: Span, what: &str) -> Result<Vec<Option<bool>>, ExprError> {
    match v {
        Val::Bool(v) => Ok(v),
        other => Err(ExprError::at(
            format!("{what} needs true/false values, not {}", other.kind()),
            span,
        )),
    }
}

fn eval(node: &Node, f: &DataFrame, n: usize) -> Result<Val, ExprError> {
    Ok(match node {
        Node::Num(v) => Val::Num(vec![Some(*v); n]),
        Node::Bool(b) => Val::Bool(vec![Some(*b); n]),
        Node::Str(s) => Val::Str(vec![Some(s.clone()); n]),
        Node::Null => Val::Num(vec![None; n]),
        Node::Col(c, span) => column(f, c, *span)?,
        Node::Unary(op, a, span) => {
            let v = eval(a, f, n)?;
            match op {
                UnOp::Neg => Val::Num(
                    as_num(v, *span, "'-'")?
                        .into_iter()
                        .map(|x| x.map(|x| -x))
                        .collect(),
                ),
                UnOp::Not => Val::Bool(
                    as_bool(v, *span, "NOT")?
                        .into_iter()
                        .map(|x| x.map(|x| !x))
                        .collect(),
                ),
            }
        }
        Node::Binary(op, a, b, span) => {
            let (x, y) = (eval(a, f, n)?, eval(b, f, n)?);
            let (op, span) = (*op, *span);
            match op {
                BinOp::And | BinOp::Or => {
                    let x = as_bool(x, span, op.symbol())?;
                    let y = as_bool(y, span, op.symbol())?;
                    let and = op == BinOp::And;
                    Val::Bool(
                        x.into_iter()
                            .zip(y)
                            .map(|(p, q)| match (p, q, and) {
                                (Some(false), _, true) | (_, Some(false), true) => Some(false),
                                (Some(true), _, false) | (_, Some(true), false) => Some(true),
                                (Some(p), Some(q), _) => Some(if and { p && q } else { p || q }),
                                _ => None,
                            })
                            .collect(),
                    )
                }
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                    let what = format!("'{op}'");
                    let x = as_num(x, span, &what)?;
                    let y = as_num(y, span, &what)?;
                    let f: fn(f64, f64) -> f64 = match op {
                        BinOp::Add => |p, q| p + q,
                        BinOp::Sub => |p, q| p - q,
                        BinOp::Mul => |p, q| p * q,
                        BinOp::Div => |p, q| p / q,
                        _ => |p, q| p % q,
                    };
                    Val::Num(
                        x.into_iter()
                            .zip(y)
                            .map(|(p, q)| {
                                let r = f(p?, q?);
                                r.is_finite().then_some(r)
                            })
                            .collect(),
                    )
                }
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    compare(op, x, y, span)?
                }
            }
        }
        Node::Call(name, args, span) => call(name, args, f, n, *span)?,
    })
}

fn compare(op: BinOp, x: Val, y: Val, span: Span) -> Result<Val, ExprError> {
    use std::cmp::Ordering;
    let test = |o: Ordering| match op {
        BinOp::Eq => o == Ordering::Equal,
        BinOp::Ne => o != Ordering::Equal,
        BinOp::Lt => o == Ordering::Less,
        BinOp::Le => o != Ordering::Greater,
        BinOp::Gt => o == Ordering::Greater,
        _ => o != Ordering::Less,
    };
    Ok(Val::Bool(match (x, y) {
        (Val::Str(x), Val::Str(y)) => x
            .into_iter()
            .zip(y)
            .map(|(p, q)| Some(test(p?.cmp(&q?))))
            .collect(),
        (Val::Str(_), other) | (other, Val::Str(_)) => {
            return Err(ExprError::at(
                format!("cannot compare text with {}", other.kind()),
                span,
            ));
        }
        (x, y) => {
            let x = as_num(x, span, op.symbol())?;
            let y = as_num(y, span, op.symbol())?;
            x.into_iter()
                .zip(y)
                .map(|(p, q)| p?.partial_cmp(&q?).map(test))
                .collect()
        }
    }))
}

fn call(name: &str, args: &[Node], f: &DataFrame, n: usize, span: Span) -> Result<Val, ExprError> {
    let Span { at, len } = span;
    let arity = |want: usize| {
        if args.len() == want {
            Ok(())
        } else {
            Err(ExprError::new(
                format!("{name}() takes {want} argument(s), got {}", args.len()),
                at,
                len,
            ))
        }
    };
    let unary: Option<fn(f64) -> f64> = match name {
        "abs" => Some(f64::abs),
        "sqrt" => Some(f64::sqrt),
        "ln" => Some(f64::ln),
        "log10" => Some(f64::log10),
        "exp" => Some(f64::exp),
        "round" => Some(f64::round),
        "floor" => Some(f64::floor),
        "ceil" => Some(f64::ceil),
        _ => None,
    };
    if let Some(g) = unary {
        arity(1)?;
        let x = as_num(eval(&args[0], f, n)?, span, name)?;
        return Ok(Val::Num(
            x.into_iter()
                .map(|v| v.map(g).filter(|r| r.is_finite()))
                .collect(),
        ));
    }
    match name {
        "least" | "greatest" | "coalesce" => {
            if args.is_empty() {
                return Err(ExprError::new(format!("{name}() needs arguments"), at, len));
            }
            let vals = args
                .iter()
                .map(|a| eval(a, f, n))
                .collect::<Result<Vec<_>, _>>()?;
            if name == "coalesce" && vals.iter().all(|v| matches!(v, Val::Bool(_))) {
                let cols: Vec<Vec<Option<bool>>> = vals
                    .into_iter()
                    .map(|v| as_bool(v, span, name))
                    .collect::<Result<_, _>>()?;
                return Ok(Val::Bool(
                    (0..n).map(|i| cols.iter().find_map(|c| c[i])).collect(),
                ));
            }
            let cols: Vec<Vec<Option<f64>>> = vals
                .into_iter()
                .map(|v| as_num(v, span, name))
                .collect::<Result<_, _>>()?;
            Ok(Val::Num(
                (0..n)
                    .map(|i| match name {
                        "coalesce" => cols.iter().find_map(|c| c[i]),
                        // SQL: any missing argument makes the result missing.
                        "least" => cols
                            .iter()
                            .map(|c| c[i])
                            .try_fold(f64::INFINITY, |m, v| v.map(|v| m.min(v))),
                        _ => cols
                            .iter()
                            .map(|c| c[i])
                            .try_fold(f64::NEG_INFINITY, |m, v| v.map(|v| m.max(v))),
                    })
                    .collect(),
            ))
        }
        "if" => {
            arity(3)?;
            let c = as_bool(eval(&args[0], f, n)?, span, "if()")?;
            match (eval(&args[1], f, n)?, eval(&args[2], f, n)?) {
                (Val::Bool(a), Val::Bool(b)) => Ok(Val::Bool(
                    (0..n).map(|i| if c[i]? { a[i] } else { b[i] }).collect(),
                )),
                (a, b) => {
                    let a = as_num(a, span, "if()")?;
                    let b = as_num(b, span, "if()")?;
                    Ok(Val::Num(
                        (0..n).map(|i| if c[i]? { a[i] } else { b[i] }).collect(),
                    ))
                }
            }
        }
        _ => Err(ExprError::new(
            format!(
                "unknown function '{name}' (abs, sqrt, ln, log10, exp, round, floor, ceil, least, greatest, coalesce, if)"
            ),
            at,
            len,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    fn frame() -> DataFrame {
        df!(
            "score" => [Some(1.0), Some(2.0), None, Some(4.0)],
            "len_words" => [10i64, 20, 30, 40],
            "is_correct" => [Some(true), Some(false), Some(true), None],
            "refusal" => [false, false, true, false],
            "model" => ["a", "b", "a", "b"],
            "top p" => [0.9, 1.0, 0.9, 1.0]
        )
        .unwrap()
    }

    fn nums(expr: &str) -> Vec<Option<f64>> {
        let s = Expr::parse(expr).unwrap().eval(&frame(), "m").unwrap();
        s.f64().unwrap().iter().collect()
    }

    fn bools(expr: &str) -> Vec<Option<bool>> {
        let s = Expr::parse(expr).unwrap().eval(&frame(), "m").unwrap();
        s.bool().unwrap().iter().collect()
    }

    fn err(expr: &str) -> ExprError {
        match Expr::parse(expr) {
            Err(e) => e,
            Ok(e) => e.eval(&frame(), "m").unwrap_err(),
        }
    }

    #[test]
    fn deep_or_long_expressions_are_an_error_not_a_stack_overflow() {
        // Each of these overflowed the stack (fuzzing, fuzz/regressions/expr/).
        for src in [
            "(".repeat(9000),
            format!("{}1", "1+".repeat(20_000)),
            format!("{}1", "-".repeat(20_000)),
        ] {
            let e = err(&src);
            assert!(e.message.contains("too long"), "{}", e.message);
        }
        // At the bound an expression still parses and evaluates: 999 tokens.
        let src = format!("{}1", "1+".repeat(499));
        assert_eq!(nums(&src), vec![Some(500.0); 4]);
    }

    #[test]
    fn arithmetic_with_precedence_and_missing_values() {
        assert_eq!(
            nums("score - 0.02 * len_words"),
            vec![Some(0.8), Some(1.6), None, Some(3.2)]
        );
        assert_eq!(nums("(1 + 2) * 3 - -1"), vec![Some(10.0); 4]);
        assert_eq!(nums("2 * 3 % 4"), vec![Some(2.0); 4]);
        assert_eq!(nums("score / 0"), vec![None; 4]);
        assert_eq!(nums("1e-1 * 10"), vec![Some(1.0); 4]);
        assert_eq!(
            nums("is_correct + 1"),
            vec![Some(2.0), Some(1.0), Some(2.0), None]
        );
        assert_eq!(
            nums("\"top p\" * 10"),
            vec![Some(9.0), Some(10.0), Some(9.0), Some(10.0)]
        );
    }

    #[test]
    fn three_valued_logic() {
        assert_eq!(
            bools("is_correct AND NOT refusal"),
            vec![Some(true), Some(false), Some(false), None]
        );
        // NULL AND false is false; NULL OR true is true.
        assert_eq!(bools("is_correct and false"), vec![Some(false); 4]);
        assert_eq!(bools("is_correct OR true"), vec![Some(true); 4]);
        assert_eq!(
            bools("score >= 2 and model = 'b'"),
            vec![Some(false), Some(true), Some(false), Some(true)]
        );
        assert_eq!(
            bools("score >= 2 and model = 'a'"),
            vec![Some(false), Some(false), None, Some(false)]
        );
        assert_eq!(
            bools("model <> 'a'"),
            vec![Some(false), Some(true), Some(false), Some(true)]
        );
    }

    #[test]
    fn functions() {
        assert_eq!(
            nums("coalesce(score, -1)"),
            vec![Some(1.0), Some(2.0), Some(-1.0), Some(4.0)]
        );
        assert_eq!(
            nums("greatest(score, 3)"),
            vec![Some(3.0), Some(3.0), None, Some(4.0)]
        );
        assert_eq!(
            nums("if(refusal, 0, score)"),
            vec![Some(1.0), Some(2.0), Some(0.0), Some(4.0)]
        );
        assert_eq!(nums("sqrt(len_words - 19)")[1], Some(1.0));
        assert_eq!(nums("ln(0)"), vec![None; 4]);
    }

    #[test]
    fn errors_point_at_the_offending_part() {
        let e = err("score - 0.02 * len_wrds");
        assert!(e.message.contains("no column named 'len_wrds'"), "{e:?}");
        assert!(e.message.contains("did you mean 'len_words'"), "{e:?}");
        assert_eq!((e.span.at, e.span.len), (15, 8));
        assert_eq!(
            e.render("score - 0.02 * len_wrds").lines().last().unwrap(),
            "                 ^^^^^^^^"
        );
        let e = err("score +");
        assert_eq!(e.span.at, 7);
        assert!(e.message.contains("found the end"));
        let e = err("score score");
        assert_eq!((e.span.at, e.span.len), (6, 5));
        let e = err("(score + 1");
        assert!(e.message.contains("expected ')'"));
        let e = err("model * 2");
        assert_eq!((e.span.at, e.span.len), (6, 1));
        assert!(e.message.contains("not text"));
        let e = err("score AND refusal");
        assert!(e.message.contains("true/false"), "{e:?}");
        let e = err("read_csv('/etc/passwd')");
        assert!(e.message.contains("unknown function 'read_csv'"), "{e:?}");
        assert_eq!(err("'open").message, "unclosed '");
        assert_eq!(err("score $ 2").span.at, 6);
        assert!(err("model").message.contains("gives text"));
    }

    #[test]
    fn lists_the_columns_it_reads() {
        let e = Expr::parse("if(refusal, 0, score - len_words * score)").unwrap();
        assert_eq!(e.columns(), vec!["refusal", "score", "len_words"]);
    }
}
