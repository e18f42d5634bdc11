namespace JitVm.Lox;

internal sealed partial class Parser
{
    private enum Precedence { None, Assignment, Or, And, Equality, Comparison, Term, Factor, Unary, Call, Primary }

    private static Precedence InfixPrecedence(TokenType type) => type switch
    {
        TokenType.LeftParen or TokenType.Dot => Precedence.Call,
        TokenType.Minus or TokenType.Plus => Precedence.Term,
        TokenType.Slash or TokenType.Star => Precedence.Factor,
        TokenType.BangEqual or TokenType.EqualEqual => Precedence.Equality,
        TokenType.Greater or TokenType.GreaterEqual or TokenType.Less or TokenType.LessEqual => Precedence.Comparison,
        TokenType.And => Precedence.And,
        TokenType.Or => Precedence.Or,
        _ => Precedence.None,
    };

    private Expr Expression() => ParsePrecedence(Precedence.Assignment);

    private Expr ParsePrecedence(Precedence precedence)
    {
        Advance();
        var canAssign = precedence <= Precedence.Assignment;
        var expression = Prefix(canAssign);
        if (expression is null)
        {
            Error("Expect expression.");
            return new LiteralExpr(LiteralKind.Nil, _previous.Line);
        }
        while (precedence <= InfixPrecedence(_current.Type))
        {
            Advance();
            expression = Infix(expression, canAssign);
        }
        if (canAssign && Match(TokenType.Equal)) Error("Invalid assignment target.");
        return expression;
    }

    private Expr? Prefix(bool canAssign)
    {
        var token = _previous;
        switch (token.Type)
        {
            case TokenType.LeftParen:
                var inner = Expression();
                Consume(TokenType.RightParen, "Expect ')' after expression.");
                return inner;
            case TokenType.Minus or TokenType.Bang:
                var operand = ParsePrecedence(Precedence.Unary);
                Code(1);
                return new UnaryExpr(token.Type, operand, _previous.Line);
            case TokenType.Number:
                Constant();
                Code(2);
                return new NumberExpr(ParseNumber(token.Text), token.Line);
            case TokenType.String:
                Constant();
                Code(2);
                return new StringExpr(token.Text[1..^1], token.Line);
            case TokenType.Nil:
                Code(1);
                return new LiteralExpr(LiteralKind.Nil, token.Line);
            case TokenType.True:
                Code(1);
                return new LiteralExpr(LiteralKind.True, token.Line);
            case TokenType.False:
                Code(1);
                return new LiteralExpr(LiteralKind.False, token.Line);
            case TokenType.Identifier:
                return NamedVariable(token.Text, canAssign);
            case TokenType.This:
                if (_class is null)
                {
                    Error("Can't use 'this' outside of a class.");
                    return new LiteralExpr(LiteralKind.Nil, token.Line);
                }
                return NamedVariable("this", false);
            case TokenType.Super:
                return Super();
            default:
                return null;
        }
    }

    private Expr NamedVariable(string name, bool canAssign)
    {
        var line = _previous.Line;
        var variable = ResolveName(name);
        if (canAssign && Match(TokenType.Equal))
        {
            var value = Expression();
            if (variable is GlobalUse assigned) assigned.Variable.Stores++;
            return new AssignExpr(variable, value, _previous.Line);
        }
        return new VariableExpr(variable, line);
    }

    private Expr Super()
    {
        if (_class is null) Error("Can't use 'super' outside of a class.");
        else if (!_class.HasSuperclass) Error("Can't use 'super' in a class with no superclass.");
        Consume(TokenType.Dot, "Expect '.' after 'super'.");
        Consume(TokenType.Identifier, "Expect superclass method name.");
        var symbol = _symbols.Intern(_previous.Text);
        Constant();
        Code(2);
        var nameLine = _previous.Line;
        var receiver = ResolveName("this");
        if (Match(TokenType.LeftParen))
        {
            var arguments = ArgumentList();
            var superVariable = ResolveName("super");
            return new CallExpr(new SuperExpr(symbol, receiver, superVariable, nameLine), arguments, _previous.Line);
        }
        return new SuperExpr(symbol, receiver, ResolveName("super"), nameLine);
    }

    private Expr Infix(Expr left, bool canAssign)
    {
        var token = _previous;
        switch (token.Type)
        {
            case TokenType.LeftParen:
                var arguments = ArgumentList();
                Code(2);
                return new CallExpr(left, arguments, _previous.Line);
            case TokenType.Dot:
                Consume(TokenType.Identifier, "Expect property name after '.'.");
                var symbol = _symbols.Intern(_previous.Text);
                Constant();
                var nameLine = _previous.Line;
                Code(2);
                if (canAssign && Match(TokenType.Equal))
                {
                    var value = Expression();
                    _symbols.FieldStores.Add(symbol);
                    return new SetExpr(left, symbol, value, _previous.Line);
                }
                if (Match(TokenType.LeftParen))
                {
                    var invokeArguments = ArgumentList();
                    return new CallExpr(new GetExpr(left, symbol, nameLine), invokeArguments, _previous.Line);
                }
                return new GetExpr(left, symbol, nameLine);
            case TokenType.And:
                Code(4);
                var andRight = ParsePrecedence(Precedence.And);
                return new LogicalExpr(true, left, andRight, _previous.Line);
            case TokenType.Or:
                Code(7);
                var orRight = ParsePrecedence(Precedence.Or);
                return new LogicalExpr(false, left, orRight, _previous.Line);
            default:
                var right = ParsePrecedence(InfixPrecedence(token.Type) + 1);
                Code(token.Type is TokenType.BangEqual or TokenType.GreaterEqual or TokenType.LessEqual ? 2 : 1);
                return new BinaryExpr(token.Type, left, right, _previous.Line);
        }
    }

    private List<Expr> ArgumentList()
    {
        var arguments = new List<Expr>();
        if (!Check(TokenType.RightParen))
        {
            do
            {
                arguments.Add(Expression());
                if (arguments.Count > byte.MaxValue) Error("Can't have more than 255 arguments.");
            } while (Match(TokenType.Comma));
        }
        Consume(TokenType.RightParen, "Expect ')' after arguments.");
        return arguments;
    }
}
