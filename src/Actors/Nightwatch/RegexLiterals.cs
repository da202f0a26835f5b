namespace DarkFactory.Actors.Nightwatch;

/// <summary>
/// Finds, for a .NET regular expression, a set of literal strings such that every match contains at least one
/// of them (compared ignoring case): the keys of a vectorised prefilter, so the full expression runs only on
/// the few lines that contain one. Conservative: null when it cannot tell (lookarounds aside, anything but
/// literals, groups, alternation, classes and quantifiers), and the caller then always runs the expression.
/// </summary>
public static class RegexLiterals
{
    private const int MinLength = 3;

    public static IReadOnlyList<string>? Required(string pattern)
    {
        var p = new Reader(pattern);
        var result = p.Alternation();
        return p.Failed || p.Pos != pattern.Length ? null : result;
    }

    private sealed class Reader(string s)
    {
        public int Pos;
        public bool Failed;

        /// <summary>branch ('|' branch)*; null when a branch has no required literal.</summary>
        public List<string>? Alternation()
        {
            var all = new List<string>();
            var ok = true;
            while (true)
            {
                var branch = Branch();
                if (branch is null)
                {
                    ok = false;
                }
                else
                {
                    all.AddRange(branch);
                }

                if (Pos < s.Length && s[Pos] == '|')
                {
                    Pos++;
                    continue;
                }

                return ok && !Failed ? all : null;
            }
        }

        /// <summary>A sequence of atoms: the longest required literal run, or a required group's literal set.</summary>
        private List<string>? Branch()
        {
            var run = new System.Text.StringBuilder();
            string best = string.Empty;
            List<string>? bestSet = null;
            void EndRun()
            {
                if (run.Length > best.Length)
                {
                    best = run.ToString();
                }

                run.Clear();
            }

            while (Pos < s.Length && s[Pos] != '|' && s[Pos] != ')')
            {
                var c = s[Pos];
                if (c == '(')
                {
                    var group = Group();
                    if (Failed)
                    {
                        return null;
                    }

                    EndRun();
                    var optional = Quantifier() == Quant.Optional;
                    if (!optional && group is { Count: > 0 } && group.All(g => g.Length >= MinLength) && (bestSet is null || group.Min(g => g.Length) > bestSet.Min(g => g.Length)))
                    {
                        bestSet = group;
                    }

                    continue;
                }

                if (c == '[')
                {
                    SkipClass();
                    EndRun();
                    Quantifier();
                    continue;
                }

                char? literal = null;
                if (c == '\\')
                {
                    if (Pos + 1 >= s.Length)
                    {
                        Failed = true;
                        return null;
                    }

                    var e = s[Pos + 1];
                    Pos += 2;
                    if (char.IsLetterOrDigit(e))
                    {
                        // \b \B \s \w \d \S \W \D \A \z \G \n ... and back references: not literals here
                        if (e is 'p' or 'P' or 'k' or 'x' or 'u' or 'c')
                        {
                            Failed = true;
                            return null;
                        }

                        EndRun();
                        Quantifier();
                        continue;
                    }

                    literal = e;
                }
                else if (c is '^' or '$')
                {
                    Pos++;
                    EndRun();
                    continue;
                }
                else if (c == '.')
                {
                    Pos++;
                    EndRun();
                    Quantifier();
                    continue;
                }
                else if (c is '*' or '+' or '?' or '{')
                {
                    Failed = true; // a quantifier with nothing before it
                    return null;
                }
                else
                {
                    literal = c;
                    Pos++;
                }

                switch (Quantifier())
                {
                    case Quant.Optional:
                        EndRun();
                        break;
                    case Quant.Repeated:
                        run.Append(literal.Value);
                        EndRun();
                        break;
                    default:
                        run.Append(literal.Value);
                        break;
                }
            }

            EndRun();
            if (best.Length >= MinLength && (bestSet is null || best.Length >= bestSet.Min(g => g.Length)))
            {
                return [best];
            }

            return bestSet;
        }

        /// <summary>'(' ... ')': the group's literal set when every branch is required; empty for lookarounds.</summary>
        private List<string>? Group()
        {
            Pos++; // (
            var lookaround = false;
            if (Pos < s.Length && s[Pos] == '?')
            {
                Pos++;
                if (Pos < s.Length && s[Pos] is '=' or '!')
                {
                    lookaround = true;
                    Pos++;
                }
                else if (Pos + 1 < s.Length && s[Pos] == '<' && s[Pos + 1] is '=' or '!')
                {
                    lookaround = true;
                    Pos += 2;
                }
                else if (Pos < s.Length && s[Pos] is '<' or '\'')
                {
                    var close = s[Pos] == '<' ? '>' : '\'';
                    var end = s.IndexOf(close, Pos + 1);
                    if (end < 0)
                    {
                        Failed = true;
                        return null;
                    }

                    Pos = end + 1;
                }
                else
                {
                    // inline options: (?i) (?-i) (?i: ...) (?: ...)
                    while (Pos < s.Length && (char.IsLetter(s[Pos]) || s[Pos] == '-'))
                    {
                        Pos++;
                    }

                    if (Pos < s.Length && s[Pos] == ')')
                    {
                        Pos++;
                        return [];
                    }

                    if (Pos >= s.Length || s[Pos] != ':')
                    {
                        Failed = true;
                        return null;
                    }

                    Pos++;
                }
            }

            var inner = Alternation();
            if (Pos >= s.Length || s[Pos] != ')')
            {
                Failed = true;
                return null;
            }

            Pos++;
            return lookaround ? [] : inner;
        }

        private void SkipClass()
        {
            Pos++; // [
            if (Pos < s.Length && s[Pos] == '^')
            {
                Pos++;
            }

            if (Pos < s.Length && s[Pos] == ']')
            {
                Pos++;
            }

            while (Pos < s.Length && s[Pos] != ']')
            {
                Pos += s[Pos] == '\\' ? 2 : 1;
            }

            if (Pos >= s.Length)
            {
                Failed = true;
                return;
            }

            Pos++;
        }

        private Quant Quantifier()
        {
            if (Pos >= s.Length)
            {
                return Quant.None;
            }

            Quant q;
            switch (s[Pos])
            {
                case '?' or '*':
                    q = Quant.Optional;
                    Pos++;
                    break;
                case '+':
                    q = Quant.Repeated;
                    Pos++;
                    break;
                case '{':
                    q = Braces();
                    break;
                default:
                    return Quant.None;
            }

            if (q != Quant.None && Pos < s.Length && s[Pos] is '?' or '+')
            {
                Pos++; // lazy or possessive
            }

            return q;
        }

        private Quant Braces()
        {
            var end = s.IndexOf('}', Pos);
            if (end < 0)
            {
                return Quant.None; // a literal '{'
            }

            var body = s[(Pos + 1)..end];
            Pos = end + 1;
            return body.StartsWith('0') || body.StartsWith(',') ? Quant.Optional : Quant.Repeated;
        }
    }

    private enum Quant
    {
        None,
        Optional,
        Repeated,
    }
}
