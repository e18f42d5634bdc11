namespace JitVm.Lox;

internal sealed partial class Parser
{
    private void Declaration(List<Stmt> into)
    {
        if (Match(TokenType.Class)) into.Add(ClassDeclaration());
        else if (Match(TokenType.Fun)) into.Add(FunDeclaration());
        else if (Match(TokenType.Var)) into.Add(VarDeclaration());
        else into.Add(Statement());
        if (_panicMode) Synchronize();
    }

    private Stmt ClassDeclaration()
    {
        Consume(TokenType.Identifier, "Expect class name.");
        var nameToken = _previous;
        var line = _previous.Line;
        Constant(); // the class name
        var target = DeclareVariable() is { } local ? (VariableReference)new LocalUse(local) : GlobalFor(nameToken.Text);
        if (target is GlobalUse classGlobal) classGlobal.Variable.Stores++;
        MarkInitialized();

        var classState = new ClassState(_class);
        _class = classState;
        Expr? superclass = null;
        LocalVariable? superVariable = null;
        if (Match(TokenType.Less))
        {
            Consume(TokenType.Identifier, "Expect superclass name.");
            superclass = new VariableExpr(ResolveName(_previous.Text), _previous.Line);
            if (nameToken.Text == _previous.Text) Error("A class can't inherit from itself.");
            BeginScope();
            superVariable = AddLocal("super");
            MarkInitialized();
            ResolveName(nameToken.Text); // clox loads the class again to inherit into it
            classState.HasSuperclass = true;
        }
        ResolveName(nameToken.Text); // and once more to add the methods
        var methods = new List<(int, FunctionNode)>();
        Consume(TokenType.LeftBrace, "Expect '{' before class body.");
        while (!Check(TokenType.RightBrace) && !Check(TokenType.Eof))
        {
            Consume(TokenType.Identifier, "Expect method name.");
            var methodName = _previous.Text;
            Constant();
            var kind = methodName == "init" ? FunctionKind.Initializer : FunctionKind.Method;
            var method = (Symbol: _symbols.Intern(methodName), Node: Function(methodName, kind));
            methods.Add(method);
            if (!_symbols.Methods.TryGetValue(method.Symbol, out var named)) _symbols.Methods.Add(method.Symbol, named = []);
            named.Add(method.Node);
        }
        Consume(TokenType.RightBrace, "Expect '}' after class body.");
        if (classState.HasSuperclass) EndScope();
        _class = classState.Enclosing;
        var declaration = new ClassStmt(nameToken.Text, target, superclass, superVariable, methods, line);
        if (target is GlobalUse known) known.Variable.OnlyClass = declaration;
        return declaration;
    }

    private GlobalUse GlobalFor(string name) => new(Global(name));

    private Stmt FunDeclaration()
    {
        var target = ParseVariable("Expect function name.");
        var name = _previous.Text;
        var line = _previous.Line;
        MarkInitialized();
        var function = Function(name, FunctionKind.Function);
        if (target is GlobalUse global)
        {
            global.Variable.Stores++;
            global.Variable.OnlyFunction = function;
        }
        return new FunctionStmt(target, function, line);
    }

    /// <summary>Parses parameters and body into a new function; counts the closure's constant in the enclosing one.</summary>
    private FunctionNode Function(string name, FunctionKind kind)
    {
        var node = new FunctionNode(name, kind) { Line = _previous.Line };
        var state = new FunctionState(_function, node);
        _function = state;
        // clox's slot 0: the receiver in methods, an unnamed slot holding the function otherwise.
        if (kind is FunctionKind.Method or FunctionKind.Initializer)
        {
            node.This = new LocalVariable("this");
            state.Locals.Add(("this", 0, node.This));
        }
        else
        {
            state.Locals.Add(("", 0, new LocalVariable("")));
        }
        BeginScope();
        Consume(TokenType.LeftParen, "Expect '(' after function name.");
        if (!Check(TokenType.RightParen))
        {
            do
            {
                if (node.Parameters.Count == byte.MaxValue) ErrorAtCurrent("Can't have more than 255 parameters.");
                Consume(TokenType.Identifier, "Expect parameter name.");
                var parameter = DeclareVariable();
                if (parameter is not null)
                {
                    node.Locals.Remove(parameter);
                    node.Parameters.Add(parameter);
                }
                MarkInitialized();
            } while (Match(TokenType.Comma));
        }
        Consume(TokenType.RightParen, "Expect ')' after parameters.");
        Consume(TokenType.LeftBrace, "Expect '{' before function body.");
        Block(node.Body);
        _function = state.Enclosing!;
        Constant(); // the function object in the enclosing chunk
        Code(2 + 2 * node.Upvalues.Count);
        return node;
    }

    private Stmt VarDeclaration()
    {
        var target = ParseVariable("Expect variable name.");
        var line = _previous.Line;
        Expr? initializer = null;
        if (Match(TokenType.Equal)) initializer = Expression();
        else Code(1);
        if (target is GlobalUse) Code(2);
        Consume(TokenType.Semicolon, "Expect ';' after variable declaration.");
        if (target is GlobalUse global) global.Variable.Stores++;
        MarkInitialized();
        return new VarStmt(target, initializer, line);
    }

    private Stmt Statement()
    {
        if (Match(TokenType.Print))
        {
            var value = Expression();
            Consume(TokenType.Semicolon, "Expect ';' after value.");
            Code(1);
            return new PrintStmt(value, _previous.Line);
        }
        if (Match(TokenType.For)) return ForStatement();
        if (Match(TokenType.If)) return IfStatement();
        if (Match(TokenType.Return)) return ReturnStatement();
        if (Match(TokenType.While)) return WhileStatement();
        if (Match(TokenType.LeftBrace))
        {
            var line = _previous.Line;
            var statements = new List<Stmt>();
            BeginScope();
            Block(statements);
            EndScope();
            return new BlockStmt(statements, line);
        }
        var expression = Expression();
        Consume(TokenType.Semicolon, "Expect ';' after expression.");
        Code(1);
        return new ExpressionStmt(expression, _previous.Line);
    }

    private void Block(List<Stmt> into)
    {
        while (!Check(TokenType.RightBrace) && !Check(TokenType.Eof)) Declaration(into);
        Consume(TokenType.RightBrace, "Expect '}' after block.");
    }

    private Stmt IfStatement()
    {
        var line = _previous.Line;
        Consume(TokenType.LeftParen, "Expect '(' after 'if'.");
        var condition = Expression();
        Consume(TokenType.RightParen, "Expect ')' after condition.");
        Code(8);
        var then = Statement();
        Stmt? otherwise = Match(TokenType.Else) ? Statement() : null;
        return new IfStmt(condition, then, otherwise, line);
    }

    private Stmt WhileStatement()
    {
        var line = _previous.Line;
        var loopStart = _function.CodeSize;
        Consume(TokenType.LeftParen, "Expect '(' after 'while'.");
        var condition = Expression();
        Consume(TokenType.RightParen, "Expect ')' after condition.");
        Code(4);
        var body = Statement();
        Loop(loopStart);
        Code(1);
        return new WhileStmt(condition, body, null, line);
    }

    private Stmt ForStatement()
    {
        var line = _previous.Line;
        BeginScope();
        var statements = new List<Stmt>();
        Consume(TokenType.LeftParen, "Expect '(' after 'for'.");
        if (Match(TokenType.Semicolon))
        {
        }
        else if (Match(TokenType.Var))
        {
            statements.Add(VarDeclaration());
        }
        else
        {
            var initializer = Expression();
            Consume(TokenType.Semicolon, "Expect ';' after expression.");
            statements.Add(new ExpressionStmt(initializer, _previous.Line));
        }
        Expr? condition = null;
        if (!Match(TokenType.Semicolon))
        {
            condition = Expression();
            Consume(TokenType.Semicolon, "Expect ';' after loop condition.");
        }
        Code(4);
        var loopStart = _function.CodeSize;
        Expr? increment = null;
        if (!Match(TokenType.RightParen))
        {
            increment = Expression();
            Consume(TokenType.RightParen, "Expect ')' after for clauses.");
            Code(7);
        }
        var body = Statement();
        Loop(loopStart);
        statements.Add(new WhileStmt(condition, body, increment, line));
        EndScope();
        return new BlockStmt(statements, line);
    }

    private Stmt ReturnStatement()
    {
        var line = _previous.Line;
        if (_function.Node.Kind == FunctionKind.Script) Error("Can't return from top-level code.");
        if (Match(TokenType.Semicolon)) return new ReturnStmt(null, line);
        if (_function.Node.Kind == FunctionKind.Initializer) Error("Can't return a value from an initializer.");
        var value = Expression();
        Consume(TokenType.Semicolon, "Expect ';' after return value.");
        return new ReturnStmt(value, _previous.Line);
    }
}
