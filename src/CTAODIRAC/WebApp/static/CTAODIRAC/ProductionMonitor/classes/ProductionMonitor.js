/**
 * CTAODIRAC Production Monitor (docs/portal.md): every production with its status and progress, its
 * transformations with type, status, files per status and the failure agent's counts, and, for the selected
 * transformation, the failure agent's decisions and site bans. Production managers can start, stop, flush and
 * complete a transformation and retry its given-up files; DIRAC's TransformationManager decides whether the user
 * may (ordinary users see no buttons, and the service refuses them anyway). Data: ProductionMonitor/getData (a
 * fixed number of RPCs whatever the number of transformations), ProductionMonitor/getDecisions,
 * ProductionMonitor/action.
 */
Ext.define("CTAODIRAC.ProductionMonitor.classes.ProductionMonitor", {
  extend: "Ext.dirac.core.Module",

  requires: ["Ext.grid.Panel", "Ext.data.Store", "Ext.grid.column.Widget", "Ext.ProgressBarWidget"],

  /** File statuses shown as columns (as the handler's FILE_STATUSES). */
  fileStatuses: ["Unused", "Assigned", "Processed", "Problematic", "MaxReset", "Removed"],

  /** Actions of a production manager: [action, button text, tooltip]. */
  transformationActions: [
    ["start", "Start", "Active, Automatic: DIRAC's agents create and submit its tasks"],
    ["stop", "Stop", "Stopped, Manual: no new tasks"],
    ["flush", "Flush", "Flush: the last, incomplete group of files gets a task"],
    ["complete", "Complete", "Completed: nothing more is done for it"],
    ["retry", "Retry given up", "its given-up files (Problematic, MaxReset) back to Unused: one more try each"],
  ],

  loadState: function (data) {},

  getStateData: function () {
    return {};
  },

  initComponent: function () {
    var me = this;
    me.launcher.title = "Production Monitor";
    me.launcher.maximized = true;
    Ext.apply(me, { layout: "border", bodyBorder: false, defaults: { split: true } });
    me.callParent(arguments);
  },

  progressColumn: function (flex) {
    return {
      xtype: "widgetcolumn",
      text: "Progress",
      dataIndex: "Progress",
      width: 130,
      widget: { xtype: "progressbarwidget", textTpl: ["{percent:number('0')}%"] },
    };
  },

  buildUI: function () {
    var me = this;
    me.canAct = false;
    me.selectedProduction = null;
    me.selectedTransformation = null;

    me.productionStore = Ext.create("Ext.data.Store", {
      fields: ["ProductionID", "Name", "Status", "Author", "CreationDate", "Transformations", "Files", "Processed",
               "Progress", "Failed", "GivenUp"],
      data: [],
    });
    me.transformationStore = Ext.create("Ext.data.Store", {
      fields: ["TransformationID", "ProductionID", "Name", "Type", "Status", "AgentType", "Files", "Other",
               "Progress", "Failed", "GivenUp", "LastUpdate"].concat(me.fileStatuses),
      data: [],
    });
    me.decisionStore = Ext.create("Ext.data.Store", {
      fields: ["DecisionID", "CreationTime", "JobID", "TaskID", "Kind", "Class", "Site", "NumFiles", "State", "Rule",
               "Reason", "Result"],
      data: [],
    });

    me.statusText = Ext.create("Ext.toolbar.TextItem", { text: "" });
    me.productionGrid = Ext.create("Ext.grid.Panel", {
      region: "north",
      height: "30%",
      title: "Productions",
      ctaoRole: "productions",
      store: me.productionStore,
      columns: [
        { text: "ID", dataIndex: "ProductionID", width: 60 },
        { text: "Name", dataIndex: "Name", flex: 1 },
        { text: "Status", dataIndex: "Status", width: 90 },
        me.progressColumn(),
        { text: "Transformations", dataIndex: "Transformations", width: 110 },
        { text: "Files", dataIndex: "Files", width: 70 },
        { text: "Processed", dataIndex: "Processed", width: 80 },
        { text: "Failed", dataIndex: "Failed", width: 70, tooltip: "failures the failure agent classified" },
        { text: "Given up", dataIndex: "GivenUp", width: 75, tooltip: "files the failure agent gave up" },
        { text: "Author", dataIndex: "Author", width: 80 },
        { text: "Created", dataIndex: "CreationDate", width: 150 },
      ],
      tbar: [
        { text: "Refresh", iconCls: "dirac-icon-refresh", handler: function () { me.refresh(); } },
        { text: "All productions", handler: function () { me.productionGrid.getSelectionModel().deselectAll(); } },
        "->",
        me.statusText,
      ],
      listeners: {
        selectionchange: function (model, selected) {
          me.selectedProduction = selected.length ? selected[0].get("ProductionID") : null;
          me.filterTransformations();
        },
      },
    });

    var transformationColumns = [
      { text: "ID", dataIndex: "TransformationID", width: 60 },
      { text: "Prod", dataIndex: "ProductionID", width: 50 },
      { text: "Name", dataIndex: "Name", flex: 1, minWidth: 160 },
      { text: "Type", dataIndex: "Type", width: 100 },
      { text: "Status", dataIndex: "Status", width: 85 },
      me.progressColumn(),
      { text: "Files", dataIndex: "Files", width: 55 },
    ];
    Ext.Array.each(me.fileStatuses, function (status) {
      transformationColumns.push({ text: status, dataIndex: status, width: 80 });
    });
    transformationColumns.push(
      { text: "Other", dataIndex: "Other", width: 55 },
      { text: "Failed", dataIndex: "Failed", width: 60 },
      { text: "Given up", dataIndex: "GivenUp", width: 70 },
      { text: "Last update", dataIndex: "LastUpdate", width: 150 }
    );
    me.actionButtons = [];
    Ext.Array.each(me.transformationActions, function (action) {
      me.actionButtons.push(
        Ext.create("Ext.button.Button", {
          text: action[1],
          tooltip: action[2],
          ctaoAction: action[0],
          disabled: true,
          handler: function () {
            if (me.selectedTransformation === null) return;
            me.doAction(action[0], me.selectedTransformation, function (answer) {
              GLOBAL.APP.CF.msg(answer.success == "true" ? "info" : "error", answer.message || answer.error);
            });
          },
        })
      );
    });
    me.transformationGrid = Ext.create("Ext.grid.Panel", {
      region: "center",
      title: "Transformations",
      ctaoRole: "transformations",
      store: me.transformationStore,
      columns: transformationColumns,
      tbar: me.actionButtons,
      listeners: {
        selectionchange: function (model, selected) {
          me.selectedTransformation = selected.length ? selected[0].get("TransformationID") : null;
          Ext.Array.each(me.actionButtons, function (b) { b.setDisabled(me.selectedTransformation === null); });
          me.loadDecisions();
        },
      },
    });

    me.banStore = Ext.create("Ext.data.Store", { fields: ["Site", "Files", "LFNs"], data: [] });
    me.banGrid = Ext.create("Ext.grid.Panel", {
      title: "Site bans",
      ctaoRole: "bans",
      store: me.banStore,
      columns: [
        { text: "Site", dataIndex: "Site", width: 160 },
        { text: "Files", dataIndex: "Files", width: 60, tooltip: "files whose new tasks must avoid the site" },
        { text: "Files (first 20)", dataIndex: "LFNs", flex: 1 },
      ],
    });
    me.decisionGrid = Ext.create("Ext.grid.Panel", {
      title: "Failure agent's decisions (select a transformation)",
      ctaoRole: "decisions",
      store: me.decisionStore,
      columns: [
        { text: "Time (UTC)", dataIndex: "CreationTime", width: 150 },
        { text: "Job", dataIndex: "JobID", width: 70 },
        { text: "Task", dataIndex: "TaskID", width: 60 },
        { text: "Class", dataIndex: "Class", width: 110 },
        { text: "Action", dataIndex: "Kind", width: 85 },
        { text: "Site", dataIndex: "Site", width: 120 },
        { text: "Files", dataIndex: "NumFiles", width: 50 },
        { text: "State", dataIndex: "State", width: 75 },
        { text: "Rule", dataIndex: "Rule", width: 140 },
        { text: "Reason", dataIndex: "Reason", flex: 1 },
      ],
    });

    me.failurePanel = Ext.create("Ext.tab.Panel", {
      region: "south",
      height: "30%",
      items: [me.decisionGrid, me.banGrid],
    });
    me.add([me.productionGrid, me.transformationGrid, me.failurePanel]);
    me.refresh();
  },

  /** Reload productions and transformations (ProductionMonitor/getData). */
  refresh: function (callback) {
    var me = this;
    me.statusText.setText("loading...");
    Ext.Ajax.request({
      url: GLOBAL.BASE_URL + "ProductionMonitor/getData",
      method: "POST",
      success: function (response) {
        var data = Ext.JSON.decode(response.responseText);
        if (data.success != "true") {
          me.statusText.setText("error: " + data.error);
          GLOBAL.APP.CF.alert(data.error, "error");
          return;
        }
        me.canAct = data.canAct;
        Ext.Array.each(me.actionButtons, function (b) { b.setHidden(!me.canAct); });
        me.allTransformations = data.transformations;
        me.productionStore.loadData(data.productions);
        me.filterTransformations();
        me.statusText.setText(
          data.productions.length + " productions, " + data.transformations.length + " transformations (" +
            data.seconds + " s)" + (me.canAct ? "" : " - read only")
        );
        me.loaded = true;
        if (callback) callback(data);
      },
      failure: function (response) {
        me.statusText.setText("error: " + response.status + " " + response.statusText);
      },
    });
  },

  filterTransformations: function () {
    var me = this;
    var rows = me.allTransformations || [];
    if (me.selectedProduction !== null) {
      rows = Ext.Array.filter(rows, function (r) { return r.ProductionID === me.selectedProduction; });
    }
    me.transformationStore.loadData(rows);
    me.transformationGrid.setTitle(
      "Transformations" + (me.selectedProduction !== null ? " of production " + me.selectedProduction : "")
    );
  },

  /** The failure agent's decisions about the selected transformation (ProductionMonitor/getDecisions). */
  loadDecisions: function (callback) {
    var me = this;
    if (me.selectedTransformation === null) {
      me.decisionStore.loadData([]);
      me.banStore.loadData([]);
      return;
    }
    var tid = me.selectedTransformation;
    Ext.Ajax.request({
      url: GLOBAL.BASE_URL + "ProductionMonitor/getDecisions",
      method: "POST",
      params: { transformationID: tid },
      success: function (response) {
        var data = Ext.JSON.decode(response.responseText);
        if (me.selectedTransformation !== tid) return;
        me.decisionStore.loadData(data.success == "true" ? data.decisions : []);
        me.banStore.loadData(data.success == "true" ? data.bans : []);
        me.banGrid.setTitle("Site bans" + (data.success == "true" ? " (" + data.bans.length + ")" : ""));
        me.decisionGrid.setTitle(
          "Failure agent's decisions for transformation " + tid +
            (data.success == "true" ? " (" + data.decisions.length + ")" : ": " + data.error)
        );
        if (callback) callback(data);
      },
    });
  },

  /** Ask DIRAC to change a transformation (ProductionMonitor/action); callback(answer); refreshes after. */
  doAction: function (action, transformationID, callback) {
    var me = this;
    Ext.Ajax.request({
      url: GLOBAL.BASE_URL + "ProductionMonitor/action",
      method: "POST",
      params: { action: action, transformationID: transformationID },
      success: function (response) {
        var answer = Ext.JSON.decode(response.responseText);
        if (callback) callback(answer);
        me.refresh();
      },
      failure: function (response) {
        if (callback) callback({ success: "false", error: response.status + " " + response.statusText });
      },
    });
  },
});
