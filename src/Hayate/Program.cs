using Hayate.Cli;

return await HayateCli.Build().Parse(args).InvokeAsync();
